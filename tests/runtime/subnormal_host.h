// Whether this CPU pays for subnormal arithmetic. Tests that assert the
// *timing* side of the denormal trap (folded conv slower with --denormals
// keep) only make sense where it does: Intel cores take microcode assists,
// while Zen 4 runs subnormal FMAs at full speed. The data side (what gets
// flushed) is asserted everywhere.
#pragma once
#include <algorithm>

#include "core/cpu.h"
#include "core/microbench.h"

namespace anvil::testing {

inline double host_subnormal_penalty() {
  static const double penalty = [] {
    double p = 0;
    // Best of three each way: a time slice lost to another process on a
    // shared host once made a 20 ms run look 2x slower, and the trap tests
    // then asserted a slowdown this CPU does not have.
    for (FpData d : {FpData::kSubnormalInput, FpData::kSubnormalOutput}) {
      double off = 0, on = 0;
      for (int rep = 0; rep < 3; ++rep) {
        off = std::max(off, measure_fp_gflops(active_isa(), FpOp::kFma, d, false, 1, 0.02));
        on = std::max(on, measure_fp_gflops(active_isa(), FpOp::kFma, d, true, 1, 0.02));
      }
      if (off > 0) p = std::max(p, on / off);
    }
    return p;
  }();
  return penalty;
}

// Same threshold as the doctor's "penalised" verdict.
inline bool host_penalises_subnormals() { return host_subnormal_penalty() > 2; }

}  // namespace anvil::testing
