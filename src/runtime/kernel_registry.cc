#include "runtime/kernel_registry.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace anvil {

// Defined by the optimized-kernel files in src/runtime/impl_*.cc.
std::vector<KernelFactory> dwconv_kernel_factories();
std::vector<KernelFactory> winograd_kernel_factories();
std::vector<KernelFactory> conv_stem_kernel_factories();
std::vector<KernelFactory> conv_pw_dw_kernel_factories();
std::vector<KernelFactory> conv_kernel_factories();
std::vector<KernelFactory> gemm_kernel_factories();
std::vector<KernelFactory> pool_kernel_factories();

namespace {

class ReferenceKernel final : public OpKernel {
 public:
  explicit ReferenceKernel(const OpDef* def) : def_(def) {}
  Status run(KernelContext& k) override { return def_->reference(k); }
  std::string name() const override { return "ref:" + def_->name; }

 private:
  const OpDef* def_;
};

}  // namespace

namespace {
std::atomic<int64_t> g_wino_channels{KernelConfig{}.winograd_min_channels};
std::atomic<int64_t> g_wino_tiles{KernelConfig{}.winograd_min_tiles};
std::atomic<int64_t> g_wino_lanes_tiles{KernelConfig{}.winograd_lanes_min_tiles};
std::atomic<int64_t> g_wino_lanes_channels{KernelConfig{}.winograd_lanes_min_channels};
}  // namespace

void set_winograd_limits(int64_t min_channels, int64_t min_tiles, int64_t lanes_min_tiles, int64_t lanes_min_channels) {
  g_wino_channels = min_channels;
  g_wino_tiles = min_tiles;
  g_wino_lanes_tiles = lanes_min_tiles;
  g_wino_lanes_channels = lanes_min_channels;
}

void reset_winograd_limits() { set_winograd_limits(KernelConfig{}.winograd_min_channels, KernelConfig{}.winograd_min_tiles); }

KernelConfig default_kernel_config() {
  KernelConfig c;
  c.winograd_min_channels = g_wino_channels;
  c.winograd_min_tiles = g_wino_tiles;
  c.winograd_lanes_min_tiles = g_wino_lanes_tiles;
  c.winograd_lanes_min_channels = g_wino_lanes_channels;
  return c;
}

const std::vector<KernelFactory>& kernel_factories() {
  static const std::vector<KernelFactory> all = [] {
    std::vector<KernelFactory> v;
    // Specialised before general: depthwise declines anything else.
    for (auto&& list : {dwconv_kernel_factories(), winograd_kernel_factories(), conv_stem_kernel_factories(),
                        conv_kernel_factories(), conv_pw_dw_kernel_factories(), gemm_kernel_factories(),
                        pool_kernel_factories()})
      v.insert(v.end(), list.begin(), list.end());
    return v;
  }();
  return all;
}

bool verbose_dispatch() {
  static const bool on = [] {
    const char* e = std::getenv("ANVIL_VERBOSE");
    return e && std::strstr(e, "dispatch") != nullptr;
  }();
  return on;
}

bool adopt_prepacked(const KernelConfig& cfg, const std::vector<int64_t>& numels, std::vector<Tensor>& out) {
  if (!cfg.prepacked || cfg.prepacked->size() != numels.size()) return false;
  for (size_t i = 0; i < numels.size(); ++i) {
    const Tensor& t = (*cfg.prepacked)[i];
    if (t.dtype() != DType::kF32 || t.numel() != numels[i] || (numels[i] > 0 && t.raw() == nullptr)) return false;
  }
  out = *cfg.prepacked;
  return true;
}

std::unique_ptr<OpKernel> select_kernel(const Graph& g, const Node& n, const KernelConfig& cfg, std::string* log,
                                        const KernelChoice* choice, std::string* chosen) {
  // One attempt: the kernel when `f` accepts, with the log line either way.
  auto attempt = [&](const KernelFactory& f, const KernelConfig& c, const char* selected,
                     const char* declined) -> std::unique_ptr<OpKernel> {
    auto k = f.create(g, n, c);
    if (!k) {
      if (log) *log += "  " + f.name + ": " + declined + ": " + k.status().message() + "\n";
      return nullptr;
    }
    if (log) *log += "  " + f.name + ": " + selected + " (" + (*k)->name() + ")\n";
    if (chosen) *chosen = f.name;
    return std::move(k).value();
  };
  if (choice && !choice->factory.empty()) {
    KernelConfig c = cfg;
    c.prepacked = &choice->packed;
    for (const KernelFactory& f : kernel_factories())
      if (f.op == n.op && f.name == choice->factory)
        if (auto k = attempt(f, c, "selected as compiled", "compiled choice declined here")) {
          if (choice->kernel.empty() || k->name() == choice->kernel) return k;
          if (log) *log += "  " + f.name + ": made " + k->name() + ", not the shared " + choice->kernel + ": packs its own\n";
          if (auto own = attempt(f, cfg, "selected", "declined")) return own;
        }
  }
  for (const KernelFactory& f : kernel_factories())
    if (f.op == n.op)
      if (auto k = attempt(f, cfg, "selected", "declined")) return k;
  const OpDef* def = OpRegistry::instance().find(n.op);
  if (log) *log += "  ref:" + n.op + ": selected (plain-loop reference)\n";
  if (chosen) chosen->clear();
  return std::make_unique<ReferenceKernel>(def);
}

}  // namespace anvil
