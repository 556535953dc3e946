// MxReshape: MXNet's Reshape, whose target shape has special codes that are
// resolved against the input shape (so a checkpoint imports without knowing
// its input shape):
//   0 copy this input dim, -1 infer from the rest, -2 copy all remaining
//   dims, -3 merge the next two input dims, -4 split one input dim into the
//   two values that follow (one of them may be -1).
// Attributes: `shape` (ints), `reverse` (0/1: match codes right to left).
#include <algorithm>
#include <cstring>

#include "ops/nn_util.h"

namespace anvil::ops {

Status resolve_mx_reshape(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& codes_in, bool reverse,
                          std::vector<int64_t>& out);

Status resolve_mx_reshape(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& codes_in, bool reverse,
                          std::vector<int64_t>& out) {
  std::vector<int64_t> d = in_dims, codes = codes_in;
  if (reverse) {
    std::reverse(d.begin(), d.end());
    std::reverse(codes.begin(), codes.end());
  }
  const std::string what = "MxReshape: shape " + int_list_str(codes_in) + (reverse ? " (reverse)" : "") +
                           " against input [" + Shape(in_dims).str() + "]";
  auto take = [&](size_t& src, int64_t& v) -> Status {
    if (src >= d.size()) return invalid_model(what + ": the codes consume more dimensions than the input has");
    v = d[src++];
    return Status::ok();
  };
  out.clear();
  size_t src = 0;
  int64_t inf = -1;
  for (size_t i = 0; i < codes.size(); ++i) {
    const int64_t c = codes[i];
    int64_t v = 0;
    if (c == 0) {
      ANVIL_TRY(take(src, v));
      out.push_back(v);
    } else if (c == -1) {
      if (inf >= 0) return invalid_model(what + ": more than one -1");
      inf = static_cast<int64_t>(out.size());
      out.push_back(1);
      ++src;
    } else if (c == -2) {
      while (src < d.size()) out.push_back(d[src++]);
    } else if (c == -3) {
      int64_t a = 0, b = 0;
      ANVIL_TRY(take(src, a));
      ANVIL_TRY(take(src, b));
      out.push_back(a * b);
    } else if (c == -4) {
      if (i + 2 >= codes.size()) return invalid_model(what + ": -4 must be followed by two values");
      int64_t d0 = 0;
      ANVIL_TRY(take(src, d0));
      int64_t d1 = codes[++i], d2 = codes[++i];
      if (d1 == -1 && d2 == -1) return invalid_model(what + ": -4 split with both parts -1");
      if (d1 < -1 || d2 < -1 || d1 == 0 || d2 == 0) return invalid_model(what + ": -4 split parts must be positive or -1");
      if (d1 == -1) d1 = d0 / d2;
      if (d2 == -1) d2 = d0 / d1;
      if (d1 * d2 != d0)
        return invalid_model(what + ": -4 cannot split " + std::to_string(d0) + " into " + std::to_string(d1) + "x" +
                             std::to_string(d2));
      out.push_back(d1);
      out.push_back(d2);
    } else if (c > 0) {
      out.push_back(c);
      ++src;
    } else {
      return invalid_model(what + ": unknown code " + std::to_string(c));
    }
  }
  const int64_t total = Shape(in_dims).numel();
  if (inf >= 0) {
    int64_t rest = 1;
    for (size_t i = 0; i < out.size(); ++i)
      if (static_cast<int64_t>(i) != inf) rest *= out[i];
    if (rest == 0 || total % rest != 0)
      return invalid_model(what + ": cannot infer the -1 dimension (" + std::to_string(total) +
                           " elements do not divide by " + std::to_string(rest) + ")");
    out[static_cast<size_t>(inf)] = total / rest;
  }
  if (reverse) std::reverse(out.begin(), out.end());
  if (Shape(out).numel() != total)
    return invalid_model(what + ": gives [" + Shape(out).str() + "] (" + std::to_string(Shape(out).numel()) +
                         " elements), but the input has " + std::to_string(total));
  return Status::ok();
}

namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("MxReshape: required input 'data' is missing");
  std::vector<int64_t> codes;
  ANVIL_TRY(c.node.attrs.require("shape", codes));
  int64_t reverse = 0;
  ANVIL_TRY(c.node.attrs.get("reverse", reverse));
  std::vector<int64_t> out;
  ANVIL_TRY(resolve_mx_reshape(c.in(0).shape.dims(), codes, reverse != 0, out));
  c.out(0) = {c.in(0).dtype, Shape(std::move(out))};
  return Status::ok();
}

Status run(KernelContext& k) {
  if (k.out(0).nbytes()) std::memcpy(k.out(0).raw(), k.in(0).raw(), k.out(0).nbytes());
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(MxReshape, {.name = "MxReshape",
                              .min_inputs = 1, .max_inputs = 1,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext&) { return int64_t{0}; },
                              .reference = anvil::ops::run})
