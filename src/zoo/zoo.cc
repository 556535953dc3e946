#include "zoo/zoo.h"

#include <cmath>
#include <cstring>

namespace anvil {
namespace {

// ---------------------------------------------------------------------------
// Random numbers. Only integer arithmetic and exactly rounded IEEE operations
// are used, so a seed gives the same weights with any compiler or libm.

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// xoshiro256**.
class Rng {
 public:
  // Each tensor draws from its own stream keyed by its name, so a layer's
  // weights do not depend on the order the builder creates them in.
  Rng(uint64_t seed, const std::string& stream) {
    uint64_t s = seed ^ fnv1a(stream);
    for (uint64_t& x : s_) x = splitmix64(s);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // [0, 1)
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  uint64_t below(uint64_t n) { return next() % n; }

  // Approximately standard normal: the sum of twelve 16-bit uniforms (mean
  // 393210, standard deviation 65536 up to 1e-10), exact in integers. Tails
  // stop at 6 sigma, which no weight initialiser misses.
  double normal() {
    int64_t sum = 0;
    for (int k = 0; k < 3; ++k) {
      uint64_t r = next();
      for (int j = 0; j < 4; ++j, r >>= 16) sum += static_cast<int64_t>(r & 0xffff);
    }
    return static_cast<double>(sum - 393210) * 0x1.0p-16;
  }
  double normal(double mean, double std) { return mean + std * normal(); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A float with magnitude in [1e-39, 1e-36], log-uniformly spread, built from
// its bit pattern: converting a double to a subnormal float would give 0 on
// a thread that runs with flush-to-zero (as anvil's denormal guard may set).
float tiny_float(Rng& rng) {
  for (;;) {
    // 2^e * m with e in [-130, -120] and m in [1, 2) spans [7.3e-40, 1.5e-36).
    const int e = -130 + static_cast<int>(rng.below(11));
    const double m = 1.0 + rng.uniform();
    const double d = std::ldexp(m, e);  // a normal double: exact
    if (d < 1e-39 || d > 1e-36) continue;
    uint32_t bits;
    if (e >= -126) {
      const uint32_t mant = static_cast<uint32_t>((m - 1.0) * 0x1.0p23);  // truncates; fine for noise
      bits = (static_cast<uint32_t>(e + 127) << 23) | mant;
    } else {
      bits = static_cast<uint32_t>(std::ldexp(d, 149));  // subnormal: units of 2^-149
    }
    if (rng.next() & 1) bits |= 0x80000000u;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
}

// ---------------------------------------------------------------------------
// Graph building.

class Builder {
 public:
  Builder(const std::string& model, const ZooOptions& opts) : opts_(opts) {
    g.name = model;
    g.producer = "anvil zoo";
    g.source = "zoo:" + model;
    g.opset = 13;
  }

  Graph g;

  Status declare_input(std::vector<int64_t> dims) {
    if (dims.size() != 4 || dims[1] != 3)
      return invalid_argument("input shape " + Shape(dims).str() + " must be NCHW with 3 channels");
    for (size_t d = 0; d < 4; ++d)
      if (dims[d] == 0 || dims[d] < -1)
        return invalid_argument("input shape " + Shape(dims).str() + " has an invalid dimension " +
                                std::to_string(dims[d]) + " (positive, or -1 for dynamic)");
    input_dims_ = dims;
    const ValueId in = g.add_value("input", DType::kF32, Shape(dims));
    static const char* const kNames[] = {"batch", "", "height", "width"};
    if (!Shape(dims).is_static())
      for (size_t d = 0; d < 4; ++d) g.value(in).dim_names.push_back(dims[d] < 0 ? kNames[d] : "");
    g.inputs.push_back(in);
    cur_ = in;
    return Status::ok();
  }

  // Declares the last value as the graph output "output" with logits shape.
  void finish(ValueId logits, int64_t classes) {
    Value& v = g.value(logits);
    v.dtype = DType::kF32;
    v.shape = Shape{input_dims_[0], classes};
    v.has_type = true;
    if (input_dims_[0] < 0) v.dim_names = {"batch", ""};
    g.outputs.push_back(logits);
  }

  // A node with one output named after the node (or `out_name`).
  ValueId node(const std::string& op, const std::string& name, std::vector<ValueId> inputs, Attrs attrs = {},
               const std::string& out_name = "") {
    const ValueId out = g.add_value(out_name.empty() ? name : out_name);
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g.add_node(std::move(n));
    return out;
  }

  ValueId conv(const std::string& name, ValueId x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
               int64_t pad, int64_t group = 1, bool bias = false) {
    const int64_t cpg = cin / group;
    Tensor w(DType::kF32, Shape{cout, cpg, k, k});
    Rng rng(opts_.seed, name + ".weight");
    // Kaiming for ReLU nets; trained filters also differ in norm per channel.
    const double std = std::sqrt(2.0 / static_cast<double>(cpg * k * k));
    float* p = w.data<float>();
    const int64_t per = cpg * k * k;
    for (int64_t o = 0; o < cout; ++o) {
      const double s = std * rng.uniform(0.5, 1.4);
      for (int64_t i = 0; i < per; ++i) p[o * per + i] = static_cast<float>(s * rng.normal());
    }
    std::vector<ValueId> ins = {x, g.add_initializer(name + ".weight", w)};
    if (bias) ins.push_back(g.add_initializer(name + ".bias", normal_tensor(name + ".bias", cout, 0.0, 0.05)));
    Attrs a;
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", group);
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("strides", std::vector<int64_t>{stride, stride});
    return node("Conv", name, std::move(ins), std::move(a));
  }

  // `gamma_scale` < 1 damps a residual branch, as trained nets learn to
  // (and as zero-init-residual training starts from).
  ValueId bn(const std::string& name, ValueId x, int64_t c, double gamma_scale = 1.0) {
    Tensor gamma(DType::kF32, Shape{c});
    Rng rng(opts_.seed, name + ".weight");
    float* gp = gamma.data<float>();
    for (int64_t i = 0; i < c; ++i) {
      // Mostly around 1, with a tenth of nearly switched-off channels.
      const double v = rng.uniform() < 0.1 ? rng.uniform(0.01, 0.1) : std::fabs(rng.normal(1.0, 0.3));
      gp[i] = static_cast<float>(v * gamma_scale);
    }
    if (opts_.denormal_prone) {
      // A separate stream, so the other gammas equal the normal model's.
      Rng dr(opts_.seed, name + ".weight#denormal");
      std::vector<int64_t> idx(static_cast<size_t>(c));
      for (int64_t i = 0; i < c; ++i) idx[static_cast<size_t>(i)] = i;
      const int64_t k = (c * 3 + 5) / 10;  // 30%, rounded
      for (int64_t i = 0; i < k; ++i) {
        const int64_t j = i + static_cast<int64_t>(dr.below(static_cast<uint64_t>(c - i)));
        std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
        gp[idx[static_cast<size_t>(i)]] = tiny_float(dr);
      }
    }
    Tensor var(DType::kF32, Shape{c});
    Rng vr(opts_.seed, name + ".running_var");
    for (int64_t i = 0; i < c; ++i) var.data<float>()[i] = static_cast<float>(vr.uniform(0.5, 1.5));
    std::vector<ValueId> ins = {
        x,
        g.add_initializer(name + ".weight", gamma),
        g.add_initializer(name + ".bias", normal_tensor(name + ".bias", c, 0.0, 0.1)),
        g.add_initializer(name + ".running_mean", normal_tensor(name + ".running_mean", c, 0.0, 0.1)),
        g.add_initializer(name + ".running_var", var),
    };
    Attrs a;
    a.set("epsilon", 1e-5f);
    return node("BatchNormalization", name, std::move(ins), std::move(a));
  }

  ValueId relu(const std::string& name, ValueId x) { return node("Relu", name, {x}); }

  ValueId relu6(const std::string& name, ValueId x) {
    if (clip_min_ == kNoValue) {
      clip_min_ = g.add_initializer("relu6.min", Tensor::scalar<float>(0.0f));
      clip_max_ = g.add_initializer("relu6.max", Tensor::scalar<float>(6.0f));
    }
    return node("Clip", name, {x, clip_min_, clip_max_});
  }

  ValueId add(const std::string& name, ValueId a, ValueId b) { return node("Add", name, {a, b}); }

  ValueId maxpool(const std::string& name, ValueId x, int64_t k, int64_t s, int64_t p) {
    Attrs a;
    a.set("ceil_mode", int64_t{0});
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    a.set("strides", std::vector<int64_t>{s, s});
    return node("MaxPool", name, {x}, std::move(a));
  }

  // GlobalAveragePool, Flatten, Gemm: the classifier head.
  ValueId head(ValueId x, int64_t features, int64_t classes, const std::string& fc_name,
               const std::string& out_name, double fc_std = 0.01) {
    x = node("GlobalAveragePool", "avgpool", {x});
    Attrs fa;
    fa.set("axis", int64_t{1});
    x = node("Flatten", "flatten", {x}, std::move(fa));
    Tensor w = normal_tensor(fc_name + ".weight", classes * features, 0.0, fc_std).reshaped(Shape{classes, features});
    Attrs ga;
    ga.set("alpha", 1.0f);
    ga.set("beta", 1.0f);
    ga.set("transB", int64_t{1});
    return node("Gemm", fc_name,
                {x, g.add_initializer(fc_name + ".weight", w),
                 g.add_initializer(fc_name + ".bias", normal_tensor(fc_name + ".bias", classes, 0.0, 0.01))},
                std::move(ga), out_name);
  }

  ValueId cur_ = kNoValue;

 private:
  Tensor normal_tensor(const std::string& stream, int64_t n, double mean, double std) {
    Tensor t(DType::kF32, Shape{n});
    Rng rng(opts_.seed, stream);
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(rng.normal(mean, std));
    return t;
  }

  const ZooOptions& opts_;
  std::vector<int64_t> input_dims_;
  ValueId clip_min_ = kNoValue, clip_max_ = kNoValue;
};

// Residual branches end in a BN with gammas this much smaller; keeps the
// variance growth over ResNet-152's 50 blocks modest.
constexpr double kResidualGamma = 0.2;

// ---------------------------------------------------------------------------
// ResNet (torchvision v1.5: the bottleneck's stride is on its 3x3 conv).

ValueId basic_block(Builder& b, const std::string& p, ValueId x, int64_t cin, int64_t planes, int64_t stride) {
  ValueId y = b.conv(p + ".conv1", x, cin, planes, 3, stride, 1);
  y = b.bn(p + ".bn1", y, planes);
  y = b.relu(p + ".relu", y);
  y = b.conv(p + ".conv2", y, planes, planes, 3, 1, 1);
  y = b.bn(p + ".bn2", y, planes, kResidualGamma);
  ValueId id = x;
  if (stride != 1 || cin != planes) {
    id = b.conv(p + ".downsample.0", x, cin, planes, 1, stride, 0);
    id = b.bn(p + ".downsample.1", id, planes);
  }
  return b.relu(p + ".relu_1", b.add(p + ".add", y, id));
}

ValueId bottleneck(Builder& b, const std::string& p, ValueId x, int64_t cin, int64_t planes, int64_t stride) {
  const int64_t cout = planes * 4;
  ValueId y = b.conv(p + ".conv1", x, cin, planes, 1, 1, 0);
  y = b.bn(p + ".bn1", y, planes);
  y = b.relu(p + ".relu", y);
  y = b.conv(p + ".conv2", y, planes, planes, 3, stride, 1);
  y = b.bn(p + ".bn2", y, planes);
  y = b.relu(p + ".relu_1", y);
  y = b.conv(p + ".conv3", y, planes, cout, 1, 1, 0);
  y = b.bn(p + ".bn3", y, cout, kResidualGamma);
  ValueId id = x;
  if (stride != 1 || cin != cout) {
    id = b.conv(p + ".downsample.0", x, cin, cout, 1, stride, 0);
    id = b.bn(p + ".downsample.1", id, cout);
  }
  return b.relu(p + ".relu_2", b.add(p + ".add", y, id));
}

void build_resnet(Builder& b, bool use_bottleneck, const int (&blocks)[4], int64_t classes) {
  ValueId x = b.conv("conv1", b.cur_, 3, 64, 7, 2, 3);
  x = b.bn("bn1", x, 64);
  x = b.relu("relu", x);
  x = b.maxpool("maxpool", x, 3, 2, 1);
  const int64_t expansion = use_bottleneck ? 4 : 1;
  int64_t cin = 64;
  for (int l = 0; l < 4; ++l) {
    const int64_t planes = int64_t{64} << l;
    for (int i = 0; i < blocks[l]; ++i) {
      const std::string p = "layer" + std::to_string(l + 1) + "." + std::to_string(i);
      const int64_t stride = (i == 0 && l > 0) ? 2 : 1;
      x = use_bottleneck ? bottleneck(b, p, x, cin, planes, stride) : basic_block(b, p, x, cin, planes, stride);
      cin = planes * expansion;
    }
  }
  b.finish(b.head(x, cin, classes, "fc", "output"), classes);
}

// ---------------------------------------------------------------------------
// MobileNetV2 (torchvision, width 1.0: every channel count is already a
// multiple of 8).

ValueId conv_bn_relu6(Builder& b, const std::string& p, ValueId x, int64_t cin, int64_t cout, int64_t k,
                      int64_t stride, int64_t group) {
  x = b.conv(p + ".0", x, cin, cout, k, stride, (k - 1) / 2, group);
  x = b.bn(p + ".1", x, cout);
  return b.relu6(p + ".2", x);
}

void build_mobilenet_v2(Builder& b, int64_t classes) {
  struct Stage {
    int64_t t, c, n, s;
  };
  static const Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  ValueId x = conv_bn_relu6(b, "features.0", b.cur_, 3, 32, 3, 2, 1);
  int64_t cin = 32;
  int idx = 1;
  for (const Stage& st : kStages) {
    for (int64_t i = 0; i < st.n; ++i, ++idx) {
      const std::string p = "features." + std::to_string(idx) + ".conv";
      const int64_t stride = i == 0 ? st.s : 1;
      const int64_t hidden = cin * st.t;
      const bool residual = stride == 1 && cin == st.c;
      ValueId y = x;
      int part = 0;
      if (st.t != 1) y = conv_bn_relu6(b, p + "." + std::to_string(part++), y, cin, hidden, 1, 1, 1);
      y = conv_bn_relu6(b, p + "." + std::to_string(part++), y, hidden, hidden, 3, stride, hidden);
      y = b.conv(p + "." + std::to_string(part++), y, hidden, st.c, 1, 1, 0);
      y = b.bn(p + "." + std::to_string(part++), y, st.c, residual ? kResidualGamma : 1.0);
      x = residual ? b.add("features." + std::to_string(idx) + ".add", y, x) : y;
      cin = st.c;
    }
  }
  x = conv_bn_relu6(b, "features.18", x, cin, 1280, 1, 1, 1);
  b.finish(b.head(x, 1280, classes, "classifier.1", "output"), classes);
}

// ---------------------------------------------------------------------------
// tiny_cnn: one of each construct the big models use, small enough for unit
// tests of the whole pipeline.

void build_tiny_cnn(Builder& b, int64_t classes) {
  ValueId x = b.conv("conv1", b.cur_, 3, 16, 3, 1, 1);
  x = b.bn("bn1", x, 16);
  x = b.relu("relu", x);
  x = b.maxpool("maxpool", x, 2, 2, 0);
  ValueId y = b.conv("block.conv1", x, 16, 16, 3, 1, 1);
  y = b.bn("block.bn1", y, 16);
  y = b.relu("block.relu", y);
  y = b.conv("block.conv2", y, 16, 16, 3, 1, 1);
  y = b.bn("block.bn2", y, 16, kResidualGamma);
  x = b.relu("block.relu_1", b.add("block.add", y, x));
  x = b.conv("dw.conv", x, 16, 16, 3, 2, 1, 16);
  x = b.bn("dw.bn", x, 16);
  x = b.relu("dw.relu", x);
  x = b.conv("pw.conv", x, 16, 32, 1, 1, 0, 1, /*bias=*/true);
  x = b.relu("pw.relu", x);
  // Wider than torchvision's 0.01 so the 32 features spread the logits over
  // a few units and the softmax output is far from uniform.
  x = b.head(x, 32, classes, "fc", "logits", 0.3);
  Attrs a;
  a.set("axis", int64_t{1});
  b.finish(b.node("Softmax", "softmax", {x}, std::move(a), "output"), classes);
}

struct ZooEntry {
  const char* name;
  int64_t default_hw;
};
constexpr ZooEntry kModels[] = {{"resnet18", 224},  {"resnet34", 224},     {"resnet50", 224}, {"resnet101", 224},
                                {"resnet152", 224}, {"mobilenet_v2", 224}, {"tiny_cnn", 32}};

}  // namespace

std::vector<std::string> zoo_model_names() {
  std::vector<std::string> v;
  for (const ZooEntry& e : kModels) v.push_back(e.name);
  return v;
}

Result<Graph> build_zoo_model(const std::string& name, const ZooOptions& opts) {
  const ZooEntry* entry = nullptr;
  for (const ZooEntry& e : kModels)
    if (name == e.name) entry = &e;
  if (!entry) {
    std::string list;
    for (const ZooEntry& e : kModels) list += std::string(list.empty() ? "" : ", ") + e.name;
    return not_found("no zoo model named '" + name + "' (available: " + list + ")");
  }
  if (opts.num_classes < 1)
    return invalid_argument("num_classes must be positive, got " + std::to_string(opts.num_classes));
  const bool tiny = name == "tiny_cnn";
  const int64_t classes = tiny && opts.num_classes == ZooOptions{}.num_classes ? 10 : opts.num_classes;

  Builder b(name, opts);
  std::vector<int64_t> dims = opts.input_shape;
  if (dims.empty()) dims = {1, 3, entry->default_hw, entry->default_hw};
  Status s = b.declare_input(dims);
  if (!s) return std::move(s).with_context("zoo model '" + name + "'");

  static const int kR18[4] = {2, 2, 2, 2}, kR34[4] = {3, 4, 6, 3}, kR101[4] = {3, 4, 23, 3},
                   kR152[4] = {3, 8, 36, 3};
  if (name == "resnet18") build_resnet(b, false, kR18, classes);
  else if (name == "resnet34") build_resnet(b, false, kR34, classes);
  else if (name == "resnet50") build_resnet(b, true, kR34, classes);
  else if (name == "resnet101") build_resnet(b, true, kR101, classes);
  else if (name == "resnet152") build_resnet(b, true, kR152, classes);
  else if (name == "mobilenet_v2") build_mobilenet_v2(b, classes);
  else build_tiny_cnn(b, classes);
  return std::move(b.g);
}

}  // namespace anvil
