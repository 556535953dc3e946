// Pad: inputs (data, pads, constant_value?, axes?), attribute mode
// (constant, reflect, edge, wrap). Negative pads crop.
#include <algorithm>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

constexpr std::initializer_list<DType> kTypes = {DType::kF32, DType::kF64, DType::kI8,  DType::kU8,
                                                 DType::kI32, DType::kI64, DType::kBool};

enum class Mode { kConstant, kReflect, kEdge, kWrap };

// Per-axis begin/end pads for every dim of the data (zero where `axes` does not name the axis).
struct PadSpec {
  Mode mode = Mode::kConstant;
  std::vector<int64_t> begin, end;
};

Status parse_mode(const Attrs& attrs, Mode& m) {
  std::string s = "constant";
  ANVIL_TRY(attrs.get("mode", s));
  if (s == "constant") m = Mode::kConstant;
  else if (s == "reflect") m = Mode::kReflect;
  else if (s == "edge") m = Mode::kEdge;
  else if (s == "wrap") m = Mode::kWrap;
  else return invalid_model("Pad: attribute 'mode' is '" + s + "', expected constant, reflect, edge or wrap");
  return Status::ok();
}

Status spec_from(const std::vector<int64_t>& pads, const std::vector<int64_t>* axes_in, int64_t rank,
                 const std::string& desc, PadSpec& p) {
  std::vector<int64_t> axes;
  if (axes_in) {
    axes = *axes_in;
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t& a : axes) {
      Status s = normalize_axis(a, rank, "axes value");
      if (!s.is_ok()) return std::move(s).with_context("Pad (data " + desc + ")");
      if (seen[static_cast<size_t>(a)]) return invalid_model("Pad: 'axes' " + int_list_str(*axes_in) + " repeats axis " + std::to_string(a));
      seen[static_cast<size_t>(a)] = true;
    }
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const size_t n = axes.size();
  if (pads.size() != 2 * n) {
    return invalid_model("Pad: 'pads' " + int_list_str(pads) + " has " + std::to_string(pads.size()) + " values, expected " +
                         std::to_string(2 * n) + " (begin and end for each of " + std::to_string(n) +
                         " axes of data " + desc + ")");
  }
  p.begin.assign(static_cast<size_t>(rank), 0);
  p.end.assign(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < n; ++i) {
    p.begin[static_cast<size_t>(axes[i])] = pads[i];
    p.end[static_cast<size_t>(axes[i])] = pads[n + i];
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Pad", "data", kTypes));
  const InputInfo& x = c.in(0);
  const int64_t rank = static_cast<int64_t>(x.shape.rank());
  PadSpec p;
  ANVIL_TRY(parse_mode(c.node.attrs, p.mode));
  std::vector<int64_t> pads, axes;
  ANVIL_TRY(constant_ints(c, 1, "pads", pads));
  if (c.has_input(3)) ANVIL_TRY(constant_ints(c, 3, "axes", axes));
  ANVIL_TRY(spec_from(pads, c.has_input(3) ? &axes : nullptr, rank, type_desc(x), p));
  if (c.has_input(2)) {
    const InputInfo& v = c.in(2);
    ANVIL_TRY(check_same_dtype(c, 2, "Pad", "data", "constant_value"));
    if (v.shape.rank() > 1 || (v.shape.is_static() && v.shape.numel() > 1)) {
      return invalid_model("Pad: 'constant_value' must be a scalar, got " + type_desc(v));
    }
  }
  std::vector<int64_t> out = x.shape.dims();
  for (int64_t d = 0; d < rank; ++d) {
    if (!dim_known(out[d])) continue;
    const int64_t o = out[d] + p.begin[d] + p.end[d];
    if (o < 0) {
      return invalid_model("Pad: pads " + int_list_str(pads) + " crop axis " + std::to_string(d) + " of data " +
                           type_desc(x) + " to a negative size " + std::to_string(o));
    }
    if (p.mode != Mode::kConstant && out[d] == 0 && o > 0) {
      return invalid_argument("Pad: cannot pad the empty axis " + std::to_string(d) + " of data " + type_desc(x) +
                              " in a non-constant mode");
    }
    out[d] = o;
  }
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

// Source index along one axis for output index o, or -1 for the constant fill.
int64_t source_index(Mode m, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (m) {
    case Mode::kConstant: return -1;
    case Mode::kEdge: return i < 0 ? 0 : n - 1;
    case Mode::kWrap: return ((i % n) + n) % n;
    case Mode::kReflect: {
      // numpy 'reflect' (edge not repeated), folding repeatedly when the pad
      // is wider than the axis.
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      int64_t r = ((i % period) + period) % period;
      return r < n ? r : period - r;
    }
  }
  return -1;
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  PadSpec p;
  ANVIL_TRY(parse_mode(k.node.attrs, p.mode));
  std::vector<int64_t> axes;
  if (k.has_input(3)) axes = k.in(3).to_i64_vector();
  ANVIL_TRY(spec_from(k.in(1).to_i64_vector(), k.has_input(3) ? &axes : nullptr, rank, x.desc(), p));
  if (y.numel() == 0) return Status::ok();
  // map[d][o]: where output index o of axis d reads from (-1: fill).
  std::vector<std::vector<int64_t>> map(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    map[d].resize(static_cast<size_t>(y.dim(d)));
    for (int64_t o = 0; o < y.dim(d); ++o) map[d][o] = source_index(p.mode, o - p.begin[d], x.dim(d));
  }
  const std::vector<int64_t> xst = contiguous_strides(x.shape());
  return dispatch_dtype(x.dtype(), [&]<class T>() {
    T fill = T(0);
    if (k.has_input(2) && k.in(2).numel() > 0) fill = k.in(2).data<T>()[0];
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    if (rank == 0) {
      ys[0] = xs[0];
      return;
    }
    const int64_t L = rank - 1, inner = y.dim(L);
    const int64_t rows = y.numel() / inner;
    const std::vector<int64_t>& ml = map[L];
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0;
      bool filled = false;
      for (int64_t rem = r, d = L - 1; d >= 0; --d) {
        const int64_t s = map[d][rem % y.dim(d)];
        rem /= y.dim(d);
        if (s < 0) filled = true;
        off += s * xst[d];
      }
      T* yr = ys + r * inner;
      if (filled) {
        std::fill(yr, yr + inner, fill);
        continue;
      }
      const T* xr = xs + off;
      for (int64_t o = 0; o < inner; ++o) yr[o] = ml[o] < 0 ? fill : xr[ml[o]];
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Pad, {.name = "Pad",
                        .min_inputs = 2, .max_inputs = 4,
                        .infer = anvil::ops::infer,
                        .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                        .reference = anvil::ops::run})
