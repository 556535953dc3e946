// Built-in models with synthetic weights: torchvision architectures (and a
// tiny test CNN) in ONNX ops, as torchvision exports them (Conv without bias
// followed by an unfolded BatchNormalization), so anvil can be tested and
// benchmarked without downloading anything.
//
// Weights are deterministic in the seed on every platform (a private PRNG,
// no std:: distributions) and are shaped like a trained network's: Kaiming
// conv weights with per-channel spread, BN statistics of realistic range, and
// damped residual branches so activations stay finite through ResNet-152.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "ir/graph.h"

namespace anvil {

struct ZooOptions {
  // NCHW with C = 3; empty means the model's default (1x3x224x224, tiny_cnn
  // 1x3x32x32). -1 declares a dynamic batch, height or width.
  std::vector<int64_t> input_shape;
  uint64_t seed = 0;
  // Sets about 30% of every BatchNormalization's gammas to tiny values
  // (|g| in [1e-39, 1e-36]), so that folding BN into the convs makes those
  // channels' weights subnormal.
  bool denormal_prone = false;
  // Classes of the final Gemm. tiny_cnn has 10 unless this is changed from
  // the default.
  int num_classes = 1000;
};

// Input "input" (f32), output "output" (f32 logits; tiny_cnn: probabilities).
// Unknown names and bad options are errors listing what is accepted.
Result<Graph> build_zoo_model(const std::string& name, const ZooOptions& opts);

// resnet18 resnet34 resnet50 resnet101 resnet152 mobilenet_v2 tiny_cnn
std::vector<std::string> zoo_model_names();

}  // namespace anvil
