#pragma once
#include <memory>
#include <vector>

#include "anvil/anvil.h"
#include "runtime/executor.h"

namespace anvil {

struct Session::Impl {
  std::unique_ptr<Executor> executor;
  std::vector<TensorInfo> inputs, outputs;
  CompileOptions options;
  std::string report;
};

}  // namespace anvil
