// Host CPU features and the ISA cap used for run-time kernel dispatch.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace anvil {

// Ordered: a higher level implies the lower ones.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuInfo {
  std::string vendor, brand;
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false;
  bool os_avx = false, os_avx512 = false;  // xgetbv: the OS saves the registers
  int logical_cpus = 1;
};

const CpuInfo& cpu_info();
// Best ISA level the host supports (CPU and OS).
Isa host_isa();
// The level kernels may use: host_isa() capped by ANVIL_MAX_ISA and by
// set_isa_cap(). Read on each call (cheap) so tests can change the cap.
Isa active_isa();
// Programmatic cap (tests, --max-isa); nullopt removes it.
void set_isa_cap(std::optional<Isa> cap);
const char* isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);

}  // namespace anvil
