// Writing MXNet checkpoints: a small symbol builder that keeps the params
// beside the graph, and PREFIX-symbol.json + PREFIX-NNNN.params output (V2
// records, "arg:"/"aux:" names), as mx.model.save_checkpoint does.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "frontend/mxnet/params.h"
#include "frontend/mxnet/symbol.h"

namespace anvil::mxnet {

struct MxCheckpoint {
  MxSymbol symbol;
  NDArrayList params;
  std::vector<int> num_outputs;  // per node, for node_row_ptr
};

class MxBuilder {
 public:
  // A data input (not saved in the params).
  MxEntry data(const std::string& name);
  // A learned parameter (arg:) or auxiliary state (aux:, BatchNorm moving stats).
  MxEntry param(const std::string& name, Tensor value, bool aux = false);
  MxEntry op(const std::string& op, const std::string& name, std::vector<MxEntry> inputs,
             std::map<std::string, std::string> attrs = {}, int num_outputs = 1);
  MxCheckpoint finish(std::vector<MxEntry> heads, int64_t mxnet_version = 10600);

 private:
  MxEntry add_var(const std::string& name);
  MxCheckpoint c_;
};

Status save_mxnet_checkpoint(const std::string& prefix, int epoch, const MxCheckpoint& c);

}  // namespace anvil::mxnet
