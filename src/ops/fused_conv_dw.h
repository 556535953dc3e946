// FusedConvDw (ops/fused_conv_dw.cc): pointwise Conv + activation +
// depthwise Conv as one node.
#pragma once
#include <limits>

#include "anvil/status.h"
#include "ir/attr.h"

namespace anvil::ops {

// The pointwise part's activation from the node's attributes: on = false
// (none), or a clamp to [lo, hi] (ReLU: [0, inf)).
Status pointwise_activation(const Attrs& attrs, bool& on, float& lo, float& hi);

}  // namespace anvil::ops
