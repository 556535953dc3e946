#include "core/microbench.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/denormals.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define ANVIL_MB_X86 1
#endif

namespace anvil {

namespace {

struct Operands {
  float a, b, c;
};

Operands operands(FpOp op, FpData d) {
  switch (d) {
    case FpData::kNormal: return {1.5f, 1.25f, 0.5f};
    case FpData::kSubnormalInput: return op == FpOp::kFma ? Operands{1e-39f, 1.f, 1.f} : Operands{1e-39f, 1e10f, 0.f};
    case FpData::kSubnormalOutput: return {1e-20f, 1e-20f, 0.f};
    case FpData::kSubnormalBoth: return {1e-39f, 1.f, 0.f};
  }
  return {1.f, 1.f, 0.f};
}

// Twelve independent operations per iteration: enough to cover FMA latency
// (4 cycles) on two ports. The empty asm statements make each a_i look
// rewritten every iteration and each result look used, so the compiler can
// neither hoist nor delete the arithmetic, yet they emit no instructions.
#define ANVIL_REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ANVIL_DECL(i) VEC a##i = SET1(o.a);
#define ANVIL_STEP(i)                  \
  {                                    \
    __asm__ volatile("" : "+v"(a##i)); \
    VEC r = OPEXPR(a##i);              \
    __asm__ volatile("" ::"v"(r));     \
  }

#ifdef ANVIL_MB_X86

#define VEC __m512
#define SET1 _mm512_set1_ps
__attribute__((target("avx512f,fma"))) void loop_avx512(FpOp op, Operands o, int64_t iters) {
  VEC b = SET1(o.b), c = SET1(o.c);
  __asm__ volatile("" : "+v"(b), "+v"(c));
  ANVIL_REP12(ANVIL_DECL)
  if (op == FpOp::kFma) {
#define OPEXPR(x) _mm512_fmadd_ps(x, b, c)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  } else {
#define OPEXPR(x) _mm512_mul_ps(x, b)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  }
}
#undef VEC
#undef SET1

#define VEC __m256
#define SET1 _mm256_set1_ps
__attribute__((target("avx2,fma"))) void loop_avx2(FpOp op, Operands o, int64_t iters) {
  VEC b = SET1(o.b), c = SET1(o.c);
  __asm__ volatile("" : "+v"(b), "+v"(c));
  ANVIL_REP12(ANVIL_DECL)
  if (op == FpOp::kFma) {
#define OPEXPR(x) _mm256_fmadd_ps(x, b, c)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  } else {
#define OPEXPR(x) _mm256_mul_ps(x, b)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  }
}
#undef VEC
#undef SET1

// The baseline build has no FMA instruction: multiply then add, as the
// compiler emits for the reference kernels.
#define VEC __m128
#define SET1 _mm_set1_ps
void loop_sse(FpOp op, Operands o, int64_t iters) {
  VEC b = SET1(o.b), c = SET1(o.c);
  __asm__ volatile("" : "+v"(b), "+v"(c));
  ANVIL_REP12(ANVIL_DECL)
  if (op == FpOp::kFma) {
#define OPEXPR(x) _mm_add_ps(_mm_mul_ps(x, b), c)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  } else {
#define OPEXPR(x) _mm_mul_ps(x, b)
    for (int64_t it = 0; it < iters; ++it) { ANVIL_REP12(ANVIL_STEP) }
#undef OPEXPR
  }
}
#undef VEC
#undef SET1

#endif  // ANVIL_MB_X86

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One thread's share of measure_fp_gflops: chunks until `seconds` passed.
int64_t timed_fp(Isa isa, FpOp op, FpData data, bool ftz_daz, double seconds, double& elapsed) {
  DenormalGuard guard(ftz_daz);
  fp_loop(isa, op, data, 200);  // wakes the vector unit (AVX-512 power-up)
  int64_t flops = 0, chunk = 256;
  const double t0 = now_s();
  double t = t0;
  while (t - t0 < seconds) {
    flops += fp_loop(isa, op, data, chunk);
    t = now_s();
    if (t - t0 < seconds / 20) chunk *= 2;
  }
  elapsed = t - t0;
  return flops;
}

}  // namespace

const char* fp_data_name(FpData d) {
  switch (d) {
    case FpData::kNormal: return "normal";
    case FpData::kSubnormalInput: return "subnormal operand";
    case FpData::kSubnormalOutput: return "subnormal result";
    case FpData::kSubnormalBoth: return "subnormal operand+result";
  }
  return "?";
}

int isa_lanes(Isa isa) { return isa == Isa::kAvx512 ? 16 : isa == Isa::kAvx2 ? 8 : 4; }

int64_t fp_loop(Isa isa, FpOp op, FpData data, int64_t iters) {
  if (iters <= 0) return 0;
  isa = std::min(isa, host_isa());
  const Operands o = operands(op, data);
#ifdef ANVIL_MB_X86
  switch (isa) {
    case Isa::kAvx512: loop_avx512(op, o, iters); break;
    case Isa::kAvx2: loop_avx2(op, o, iters); break;
    case Isa::kScalar: loop_sse(op, o, iters); break;
  }
#endif
  return iters * 12 * isa_lanes(isa) * (op == FpOp::kFma ? 2 : 1);
}

double measure_fp_gflops(Isa isa, FpOp op, FpData data, bool ftz_daz, int threads, double seconds) {
  threads = std::max(1, threads);
  std::vector<int64_t> flops(static_cast<size_t>(threads), 0);
  std::vector<double> elapsed(static_cast<size_t>(threads), 0);
  if (threads == 1) {
    flops[0] = timed_fp(isa, op, data, ftz_daz, seconds, elapsed[0]);
  } else {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] { flops[t] = timed_fp(isa, op, data, ftz_daz, seconds, elapsed[t]); });
    for (std::thread& t : ts) t.join();
  }
  // Threads start a little apart; each rate is its own, and they add up
  // when they truly run at the same time (cores, not hyperthreads).
  double gflops = 0;
  for (int t = 0; t < threads; ++t)
    if (elapsed[t] > 0) gflops += static_cast<double>(flops[t]) / elapsed[t] * 1e-9;
  return gflops;
}

double peak_gflops(Isa isa, int threads) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, double> cache;
  isa = std::min(isa, host_isa());
  threads = std::max(1, threads);
  std::lock_guard<std::mutex> lk(mu);
  auto key = std::make_pair(static_cast<int>(isa), threads);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep)
    best = std::max(best, measure_fp_gflops(isa, FpOp::kFma, FpData::kNormal, true, threads, 0.02));
  cache[key] = best;
  return best;
}

namespace {

void copy_part(const float* a, float* b, size_t n) {
  for (size_t i = 0; i < n; ++i) b[i] = a[i];
}
void triad_part(float* a, const float* b, const float* c, float s, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

template <class F>
double parallel_time(int threads, size_t n, F&& f) {
  const double t0 = now_s();
  if (threads == 1) {
    f(size_t{0}, n);
  } else {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      const size_t b = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
      const size_t e = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
      ts.emplace_back([&f, b, e] { f(b, e); });
    }
    for (std::thread& t : ts) t.join();
  }
  return now_s() - t0;
}

}  // namespace

MemoryBandwidth measure_memory_bandwidth(size_t array_bytes, int threads) {
  MemoryBandwidth r;
  threads = std::max(1, threads);
  r.threads = threads;
  const size_t n = std::max<size_t>(1024, array_bytes / sizeof(float));
  r.array_bytes = n * sizeof(float);
  std::vector<float> a(n), c(n);
  std::vector<float> b(n, 1.0f);
  // First touch happens in the constructors above; one untimed pass of each
  // kernel then faults in anything lazily mapped.
  double best_copy = 1e30, best_triad = 1e30;
  for (int rep = 0; rep < 4; ++rep) {
    const double tc = parallel_time(threads, n, [&](size_t lo, size_t hi) { copy_part(&b[lo], &a[lo], hi - lo); });
    const double tt =
        parallel_time(threads, n, [&](size_t lo, size_t hi) { triad_part(&a[lo], &b[lo], &c[lo], 0.5f, hi - lo); });
    if (rep > 0) {
      best_copy = std::min(best_copy, tc);
      best_triad = std::min(best_triad, tt);
    }
  }
  volatile float sink = a[n / 2];
  (void)sink;
  r.copy_gbs = 2.0 * static_cast<double>(r.array_bytes) / best_copy * 1e-9;
  r.triad_gbs = 3.0 * static_cast<double>(r.array_bytes) / best_triad * 1e-9;
  return r;
}

namespace {

// Sum of the array, 8 independent partial sums so the loads, not the adds'
// latency, set the pace (the compiler vectorizes it at the baseline ISA).
float read_sum(const float* a, size_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += a[i + static_cast<size_t>(k)];
  for (; i < n; ++i) s[0] += a[i];
  float r = 0;
  for (float v : s) r += v;
  return r;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

std::vector<CpuSpeed> measure_per_cpu(Isa isa, size_t read_bytes, int passes) {
  std::vector<int> cpus;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) cpus.push_back(c);
  }
  if (cpus.empty()) cpus.push_back(-1);  // unknown: wherever the thread runs
  const size_t n = std::max<size_t>(1024, read_bytes / sizeof(float));
  std::vector<std::vector<double>> fma(cpus.size()), rd(cpus.size());
  std::vector<bool> pinned(cpus.size(), true);
  for (int pass = 0; pass < std::max(1, passes); ++pass)
    for (size_t i = 0; i < cpus.size(); ++i) {
      // A fresh thread per measurement, pinned before it does anything.
      std::thread t([&, i] {
        bool ok = false;
        if (cpus[i] >= 0) {
          cpu_set_t one;
          CPU_ZERO(&one);
          CPU_SET(cpus[i], &one);
          ok = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
        }
        if (!ok) pinned[i] = false;
        std::vector<float> a(n, 1.0f);
        fma[i].push_back(measure_fp_gflops(isa, FpOp::kFma, FpData::kNormal, true, 1, 0.02));
        volatile float sink = read_sum(a.data(), n);  // untimed: the pages and the prefetchers warm
        const double t0 = now_s();
        sink = read_sum(a.data(), n);
        const double dt = now_s() - t0;
        (void)sink;
        rd[i].push_back(dt > 0 ? static_cast<double>(n * sizeof(float)) / dt * 1e-9 : 0);
      });
      t.join();
    }
  std::vector<CpuSpeed> r;
  for (size_t i = 0; i < cpus.size(); ++i) r.push_back({cpus[i], pinned[i], median_of(fma[i]), median_of(rd[i])});
  return r;
}

double slowest_cpu_fraction(const std::vector<CpuSpeed>& per) {
  double fmax = 0, fmin = 1e30, rmax = 0, rmin = 1e30;
  for (const CpuSpeed& c : per) {
    fmax = std::max(fmax, c.fma_gflops);
    fmin = std::min(fmin, c.fma_gflops);
    rmax = std::max(rmax, c.read_gbs);
    rmin = std::min(rmin, c.read_gbs);
  }
  return per.size() > 1 && fmax > 0 && rmax > 0 ? std::min(fmin / fmax, rmin / rmax) : 1.0;
}

namespace {
std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (f) std::getline(f, s);
  return s;
}

// "0-1,4,6-7" -> 5
int count_cpu_list(const std::string& s) {
  int count = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string part = s.substr(i, j - i);
    const size_t dash = part.find('-');
    try {
      if (dash == std::string::npos) {
        if (!part.empty()) ++count;
      } else {
        count += std::stoi(part.substr(dash + 1)) - std::stoi(part.substr(0, dash)) + 1;
      }
    } catch (...) {
    }
    i = j + 1;
  }
  return std::max(1, count);
}
}  // namespace

std::vector<CacheInfo> cpu_caches() {
  std::vector<CacheInfo> r;
  for (int i = 0; i < 16; ++i) {
    const std::string d = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level = read_line(d + "level");
    if (level.empty()) break;
    CacheInfo c;
    try {
      c.level = std::stoi(level);
      std::string size = read_line(d + "size");
      size_t mult = 1;
      if (!size.empty() && (size.back() == 'K' || size.back() == 'M' || size.back() == 'G')) {
        mult = size.back() == 'K' ? 1024 : size.back() == 'M' ? 1024 * 1024 : 1024ull * 1024 * 1024;
        size.pop_back();
      }
      c.size_bytes = size.empty() ? 0 : static_cast<size_t>(std::stoull(size)) * mult;
      const std::string line = read_line(d + "coherency_line_size");
      c.line_bytes = line.empty() ? 0 : std::stoi(line);
    } catch (...) {
      continue;
    }
    c.type = read_line(d + "type");
    c.shared_by = count_cpu_list(read_line(d + "shared_cpu_list"));
    r.push_back(c);
  }
  return r;
}

}  // namespace anvil
