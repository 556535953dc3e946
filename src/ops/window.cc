// resolve_window: the output-size and padding rules ONNX defines for Conv,
// MaxPool and AveragePool, in one place so the three ops cannot disagree.
#include <string>

#include "ops/nn_util.h"
#include "ops/op_util.h"

namespace anvil::ops {
namespace {

Status read_per_dim(const Attrs& attrs, const char* name, size_t n, int64_t def, std::vector<int64_t>& out) {
  out.assign(n, def);
  if (!attrs.has(name)) return Status::ok();
  ANVIL_TRY(attrs.get(name, out));
  if (out.size() != n) {
    return invalid_model("attribute '" + std::string(name) + "' " + int_list_str(out) + " has " +
                         std::to_string(out.size()) + " values, expected " + std::to_string(n) +
                         " (one per spatial dimension)");
  }
  for (int64_t v : out) {
    if (v <= 0) return invalid_model("attribute '" + std::string(name) + "' " + int_list_str(out) + " must be positive");
  }
  return Status::ok();
}

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

}  // namespace

Status resolve_window(const std::vector<int64_t>& in_spatial, const std::vector<int64_t>& kernel,
                      const Attrs& attrs, bool ceil_mode_allowed, WindowGeometry& g) {
  const size_t n = in_spatial.size();
  if (kernel.size() != n) {
    return invalid_model("kernel shape " + int_list_str(kernel) + " has " + std::to_string(kernel.size()) +
                         " dimensions but the input has " + std::to_string(n) + " spatial dimensions " +
                         int_list_str(in_spatial));
  }
  for (int64_t k : kernel) {
    // -1 (unknown) is allowed through; callers pass it when W's shape is dynamic.
    if (k == 0 || k < -1) return invalid_model("kernel shape " + int_list_str(kernel) + " must be positive");
  }
  g.kernel = kernel;

  std::string auto_pad = "NOTSET";
  ANVIL_TRY(attrs.get("auto_pad", auto_pad));
  if (auto_pad.empty()) auto_pad = "NOTSET";
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    return invalid_model("attribute 'auto_pad' is '" + auto_pad +
                         "', expected one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
  ANVIL_TRY(read_per_dim(attrs, "strides", n, 1, g.strides));
  ANVIL_TRY(read_per_dim(attrs, "dilations", n, 1, g.dilations));

  std::vector<int64_t> pads(2 * n, 0);
  if (attrs.has("pads")) {
    ANVIL_TRY(attrs.get("pads", pads));
    if (pads.size() != 2 * n) {
      return invalid_model("attribute 'pads' " + int_list_str(pads) + " has " + std::to_string(pads.size()) +
                           " values, expected " + std::to_string(2 * n) + " (begin and end per spatial dimension)");
    }
    bool any_nonzero = false;
    for (int64_t p : pads) {
      if (p < 0) return unsupported("negative 'pads' " + int_list_str(pads) + " (cropping) are not supported");
      any_nonzero |= p != 0;
    }
    // Exporters sometimes write all-zero pads next to auto_pad; only a real
    // conflict is an error.
    if (any_nonzero && auto_pad != "NOTSET") {
      return invalid_model("attribute 'pads' " + int_list_str(pads) + " cannot be combined with auto_pad '" +
                           auto_pad + "'");
    }
  }

  int64_t ceil_mode = 0;
  if (ceil_mode_allowed) {
    ANVIL_TRY(attrs.get("ceil_mode", ceil_mode));
    if (ceil_mode != 0 && ceil_mode != 1) {
      return invalid_model("attribute 'ceil_mode' is " + std::to_string(ceil_mode) + ", expected 0 or 1");
    }
  }

  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  g.out.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = in_spatial[i], k = kernel[i], s = g.strides[i], d = g.dilations[i];
    if (auto_pad == "NOTSET") {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[n + i];
    }
    if (in < 0 || k < 0) continue;  // dynamic: output size unknown until bound
    const int64_t dk = (k - 1) * d + 1;
    if (auto_pad == "NOTSET") {
      const int64_t span = in + pads[i] + pads[n + i] - dk;
      if (span < 0) {
        return invalid_argument("spatial dimension " + std::to_string(i) + ": window " + std::to_string(dk) +
                                " (kernel " + std::to_string(k) + ", dilation " + std::to_string(d) +
                                ") is larger than the padded input " + std::to_string(in) + "+" +
                                std::to_string(pads[i]) + "+" + std::to_string(pads[n + i]));
      }
      int64_t out = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
      // ceil_mode may add a window that starts in the end padding; ONNX (like
      // PyTorch) drops it so every window starts in the input or left padding.
      if (ceil_mode && (out - 1) * s >= in + pads[i]) --out;
      g.out[i] = out;
    } else if (auto_pad == "VALID") {
      if (in < dk) {
        return invalid_argument("spatial dimension " + std::to_string(i) + ": window " + std::to_string(dk) +
                                " (kernel " + std::to_string(k) + ", dilation " + std::to_string(d) +
                                ") is larger than the input " + std::to_string(in) + " with auto_pad VALID");
      }
      g.out[i] = (in - dk) / s + 1;
    } else {
      const int64_t out = ceil_div(in, s);
      int64_t total = (out - 1) * s + dk - in;
      if (total < 0) total = 0;
      const int64_t small = total / 2, big = total - small;
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
      g.pad_end[i] = auto_pad == "SAME_UPPER" ? big : small;
      g.out[i] = out;
    }
  }
  return Status::ok();
}

}  // namespace anvil::ops
