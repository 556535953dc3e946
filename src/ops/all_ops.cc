#include "ir/op_registry.h"

#define ANVIL_OP(NAME) void anvil_register_op_##NAME();
#include "ops/ops.def"
#undef ANVIL_OP

namespace anvil {

void register_all_ops() {
  static const bool done = [] {
#define ANVIL_OP(NAME) anvil_register_op_##NAME();
#include "ops/ops.def"
#undef ANVIL_OP
    return true;
  }();
  (void)done;
}

}  // namespace anvil
