// MXNet checkpoints with synthetic weights, in the layouts real checkpoints
// have, so the user's MXNet workflow can be reproduced without downloads:
//   resnet101       the MXNet model-zoo ImageNet ResNet-101 (symbols/resnet.py:
//                   bn_data, conv0, stageS_unitU_{bn1,relu1,conv1,...,sc}, bn1,
//                   pool1, fc1, SoftmaxOutput "softmax");
//   LResNet100E-IR  InsightFace's 112x112 face ResNet-100 (fresnet.py, unit v3
//                   "IR": BN-Conv-BN-PReLU-Conv-BN, PReLU stem at stride 1,
//                   output E: BN-Dropout-FC(512)-BN named "fc1").
// Weights are deterministic in the seed; residual branches are damped so
// activations stay finite through 100 layers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "frontend/mxnet/mxnet_writer.h"

namespace anvil::mxnet {

std::vector<std::string> mxnet_zoo_model_names();
Result<MxCheckpoint> build_mxnet_zoo_model(const std::string& name, uint64_t seed = 0);

}  // namespace anvil::mxnet
