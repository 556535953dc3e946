#include "frontend/mxnet/mxnet_zoo.h"

#include <cmath>

namespace anvil::mxnet {

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Sum of 4 uniforms, rescaled: a cheap, platform-independent bell shape.
  double normal() {
    double s = 0;
    for (int i = 0; i < 4; ++i) s += uniform();
    return (s - 2.0) * std::sqrt(3.0);
  }

 private:
  uint64_t s_;
};

std::string tup(std::initializer_list<int64_t> v) {
  std::string s = "(";
  size_t i = 0;
  for (int64_t x : v) s += (i++ ? ", " : "") + std::to_string(x);
  return s + ")";
}

struct Net {
  MxBuilder b;
  Rng rng;
  explicit Net(uint64_t seed) : rng(seed) {}

  Tensor fill(Shape s, double mean, double std) {
    Tensor t(DType::kF32, s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(mean + std * rng.normal());
    return t;
  }
  MxEntry conv(MxEntry x, const std::string& name, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad,
               double damp = 1.0) {
    const double std = damp * std::sqrt(2.0 / static_cast<double>(cin * k * k));
    const MxEntry w = b.param(name + "_weight", fill(Shape{cout, cin, k, k}, 0, std));
    return b.op("Convolution", name, {x, w},
                {{"kernel", tup({k, k})}, {"stride", tup({stride, stride})}, {"pad", tup({pad, pad})},
                 {"num_filter", std::to_string(cout)}, {"num_group", "1"}, {"no_bias", "True"}, {"workspace", "256"}});
  }
  MxEntry bn(MxEntry x, const std::string& name, int64_t c, bool fix_gamma, double gamma = 1.0) {
    const MxEntry g = b.param(name + "_gamma", fill(Shape{c}, gamma, 0.05 * gamma));
    const MxEntry be = b.param(name + "_beta", fill(Shape{c}, 0, 0.02));
    const MxEntry m = b.param(name + "_moving_mean", fill(Shape{c}, 0, 0.02), true);
    Tensor v = fill(Shape{c}, 1, 0.05);
    for (int64_t i = 0; i < c; ++i) v.data<float>()[i] = std::fabs(v.data<float>()[i]);
    const MxEntry va = b.param(name + "_moving_var", v, true);
    return b.op("BatchNorm", name, {x, g, be, m, va},
                {{"eps", "2e-05"}, {"fix_gamma", fix_gamma ? "True" : "False"}, {"momentum", "0.9"}}, 3);
  }
  MxEntry relu(MxEntry x, const std::string& name) { return b.op("Activation", name, {x}, {{"act_type", "relu"}}); }
  MxEntry prelu(MxEntry x, const std::string& name, int64_t c) {
    const MxEntry g = b.param(name + "_gamma", fill(Shape{c}, 0.25, 0.02));
    return b.op("LeakyReLU", name, {x, g}, {{"act_type", "prelu"}});
  }
  int plus = 0;
  MxEntry add(MxEntry x, MxEntry y) { return b.op("elemwise_add", "_plus" + std::to_string(plus++), {x, y}); }
};

MxCheckpoint resnet101(uint64_t seed) {
  Net n(seed);
  const std::vector<int64_t> units = {3, 4, 23, 3}, filters = {64, 256, 512, 1024, 2048};
  MxEntry x = n.b.data("data");
  x = n.bn(x, "bn_data", 3, true);
  x = n.conv(x, "conv0", 3, 64, 7, 2, 3);
  x = n.bn(x, "bn0", 64, false);
  x = n.relu(x, "relu0");
  x = n.b.op("Pooling", "pooling0", {x},
             {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", "max"}});
  int64_t cin = 64;
  for (size_t s = 0; s < units.size(); ++s) {
    const int64_t nf = filters[s + 1], mid = nf / 4;
    for (int64_t u = 0; u < units[s]; ++u) {
      const std::string name = "stage" + std::to_string(s + 1) + "_unit" + std::to_string(u + 1);
      const int64_t stride = u == 0 && s > 0 ? 2 : 1;
      const bool dim_match = u > 0;
      const MxEntry a1 = n.relu(n.bn(x, name + "_bn1", cin, false), name + "_relu1");
      MxEntry y = n.conv(a1, name + "_conv1", cin, mid, 1, 1, 0);
      y = n.conv(n.relu(n.bn(y, name + "_bn2", mid, false), name + "_relu2"), name + "_conv2", mid, mid, 3, stride, 1);
      // Damped last conv: the residual stream grows slowly over 33 units.
      y = n.conv(n.relu(n.bn(y, name + "_bn3", mid, false), name + "_relu3"), name + "_conv3", mid, nf, 1, 1, 0, 0.2);
      const MxEntry sc = dim_match ? x : n.conv(a1, name + "_sc", cin, nf, 1, stride, 0);
      x = n.add(y, sc);
      cin = nf;
    }
  }
  x = n.relu(n.bn(x, "bn1", cin, false), "relu1");
  x = n.b.op("Pooling", "pool1", {x}, {{"global_pool", "True"}, {"kernel", "(7, 7)"}, {"pool_type", "avg"}});
  x = n.b.op("Flatten", "flatten0", {x});
  const MxEntry w = n.b.param("fc1_weight", n.fill(Shape{1000, cin}, 0, std::sqrt(1.0 / static_cast<double>(cin))));
  const MxEntry bias = n.b.param("fc1_bias", n.fill(Shape{1000}, 0, 0.01));
  x = n.b.op("FullyConnected", "fc1", {x, w, bias}, {{"num_hidden", "1000"}});
  const MxEntry label = n.b.data("softmax_label");
  x = n.b.op("SoftmaxOutput", "softmax", {x, label}, {{"normalization", "null"}});
  return n.b.finish({x});
}

MxCheckpoint lresnet100e_ir(uint64_t seed) {
  Net n(seed);
  const std::vector<int64_t> units = {3, 13, 30, 3}, filters = {64, 64, 128, 256, 512};
  MxEntry x = n.b.data("data");
  x = n.b.op("_copy", "id", {x});
  x = n.b.op("_minus_scalar", "_minusscalar0", {x}, {{"scalar", "127.5"}});
  x = n.b.op("_mul_scalar", "_mulscalar0", {x}, {{"scalar", "0.0078125"}});
  x = n.conv(x, "conv0", 3, 64, 3, 1, 1);
  x = n.bn(x, "bn0", 64, false);
  x = n.prelu(x, "relu0", 64);
  int64_t cin = 64;
  for (size_t s = 0; s < units.size(); ++s) {
    const int64_t nf = filters[s + 1];
    for (int64_t u = 0; u < units[s]; ++u) {
      const std::string name = "stage" + std::to_string(s + 1) + "_unit" + std::to_string(u + 1);
      const int64_t stride = u == 0 ? 2 : 1;
      const bool dim_match = u > 0;
      MxEntry y = n.bn(x, name + "_bn1", cin, false);
      y = n.conv(y, name + "_conv1", cin, nf, 3, 1, 1);
      y = n.prelu(n.bn(y, name + "_bn2", nf, false), name + "_relu1", nf);
      y = n.conv(y, name + "_conv2", nf, nf, 3, stride, 1);
      // Small last-BN gammas damp the residual branch, as in a trained IR net.
      y = n.bn(y, name + "_bn3", nf, false, 0.2);
      MxEntry sc = x;
      if (!dim_match) sc = n.bn(n.conv(x, name + "_conv1sc", cin, nf, 1, stride, 0), name + "_sc", nf, false);
      x = n.add(y, sc);
      cin = nf;
    }
  }
  x = n.bn(x, "bn1", cin, false);
  x = n.b.op("Dropout", "dropout0", {x}, {{"p", "0.4"}});
  const int64_t feat = cin * 7 * 7;
  const MxEntry w = n.b.param("pre_fc1_weight", n.fill(Shape{512, feat}, 0, std::sqrt(1.0 / static_cast<double>(feat))));
  const MxEntry bias = n.b.param("pre_fc1_bias", n.fill(Shape{512}, 0, 0.01));
  x = n.b.op("FullyConnected", "pre_fc1", {x, w, bias}, {{"num_hidden", "512"}});
  x = n.bn(x, "fc1", 512, true);
  return n.b.finish({x});
}

}  // namespace

std::vector<std::string> mxnet_zoo_model_names() { return {"resnet101", "LResNet100E-IR"}; }

Result<MxCheckpoint> build_mxnet_zoo_model(const std::string& name, uint64_t seed) {
  if (name == "resnet101") return resnet101(seed);
  if (name == "LResNet100E-IR" || name == "lresnet100e_ir") return lresnet100e_ir(seed);
  std::string all;
  for (const std::string& n : mxnet_zoo_model_names()) all += (all.empty() ? "" : ", ") + n;
  return not_found("no MXNet zoo model '" + name + "' (MXNet models: " + all + ")");
}

}  // namespace anvil::mxnet
