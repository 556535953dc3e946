// Sub: y = a - b, with multidirectional broadcasting.
#include "ops/binary_elementwise.h"

ANVIL_REGISTER_OP(Sub, {.name = "Sub",
                        .min_inputs = 2, .max_inputs = 2,
                        .infer = anvil::ops::infer_broadcasting_arithmetic,
                        .flops = anvil::ops::elementwise_flops,
                        .reference = anvil::ops::run_binary<anvil::ops::SubOp>})
