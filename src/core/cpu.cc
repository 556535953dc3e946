#include "core/cpu.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define ANVIL_X86 1
#endif

namespace anvil {

namespace {

#ifdef ANVIL_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

CpuInfo detect() {
  CpuInfo c;
  c.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
#ifdef ANVIL_X86
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  c.vendor = vendor;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  c.fma = (r[2] >> 12) & 1;
  c.f16c = (r[2] >> 29) & 1;
  if (osxsave) {
    const uint64_t xcr0 = xgetbv0();
    c.os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
    c.os_avx512 = (xcr0 & 0xe6) == 0xe6;        // plus opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    c.avx2 = (r[1] >> 5) & 1;
    c.avx512f = (r[1] >> 16) & 1;
    c.avx512dq = (r[1] >> 17) & 1;
    c.avx512bw = (r[1] >> 30) & 1;
    c.avx512vl = (r[1] >> 31) & 1;
    c.avx512_vnni = (r[2] >> 11) & 1;
    cpuid(7, 1, r);
    c.avx512_bf16 = (r[0] >> 5) & 1;
  }
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    c.brand = brand;
    while (!c.brand.empty() && c.brand.back() == ' ') c.brand.pop_back();
    while (!c.brand.empty() && c.brand.front() == ' ') c.brand.erase(0, 1);
  }
#endif
  return c;
}

std::atomic<int> g_cap{-1};

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

Isa host_isa() {
  const CpuInfo& c = cpu_info();
  if (c.os_avx512 && c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq && c.fma) return Isa::kAvx512;
  if (c.os_avx && c.avx2 && c.fma) return Isa::kAvx2;
  return Isa::kScalar;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

std::optional<Isa> isa_from_name(std::string_view n) {
  if (n == "scalar" || n == "ref" || n == "none") return Isa::kScalar;
  if (n == "avx2") return Isa::kAvx2;
  if (n == "avx512" || n == "avx512_core" || n == "avx512f") return Isa::kAvx512;
  return std::nullopt;
}

namespace {
Isa env_cap() {
  static const Isa cap = [] {
    const char* e = std::getenv("ANVIL_MAX_ISA");
    if (!e || !*e) return Isa::kAvx512;
    auto i = isa_from_name(e);
    if (!i) {
      std::fprintf(stderr, "anvil: warning: ANVIL_MAX_ISA='%s' is not one of scalar, avx2, avx512; ignored\n", e);
      return Isa::kAvx512;
    }
    return *i;
  }();
  return cap;
}
}  // namespace

Isa active_isa() {
  int level = static_cast<int>(host_isa());
  level = std::min(level, static_cast<int>(env_cap()));
  const int cap = g_cap.load(std::memory_order_relaxed);
  if (cap >= 0) level = std::min(level, cap);
  return static_cast<Isa>(level);
}

void set_isa_cap(std::optional<Isa> cap) { g_cap.store(cap ? static_cast<int>(*cap) : -1); }

}  // namespace anvil
