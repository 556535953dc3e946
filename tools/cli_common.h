// Shared pieces of the `anvil` command-line tool.
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include "anvil/anvil.h"

namespace anvil::cli {

// Options every model-taking command accepts.
struct ModelArgs {
  std::string path;
  std::vector<std::string> shapes;  // "name:1,3,224,224"
  int epoch = 0;
  bool allow_missing = false;
  // Optimizer and numerics (every command that compiles).
  int opt_level = 3;
  std::vector<std::string> disable_passes, enable_passes;
  std::string denormals = "flush";
  bool exact = false;
  std::string tune = "off";  // off | fast | full (CompileOptions::tune)
  std::string max_memory;  // "" (default limit), "none", or a size: "8G"
};

void add_model_args(CLI::App* cmd, ModelArgs& a);
// CompileOptions from the common flags.
CompileOptions compile_options(const ModelArgs& a, int threads);
int cmd_optimize(const ModelArgs& a, bool report, const std::string& dump_after, const std::string& format,
                 const std::string& output);
int cmd_check(const ModelArgs& a, const std::string& levels, uint64_t seed, bool per_layer = false,
              double tolerance = 1e-4, int threads = 0);
Result<Model> load_model(const ModelArgs& a);
// Parses "name:1,3,224,224" (also "name=1x3x224x224").
Status parse_shape_arg(const std::string& s, std::string& name, Shape& shape);
// Deterministic input in [-1, 1] (uniform), as the user's own benchmark does.
Tensor random_input(const TensorInfo& info, uint64_t seed);
// "12.3 M", "4.1 G"
std::string human_count(double v);
// Prints "error: <message>" to stderr and returns the process exit code.
int report(const Status& s);

int cmd_info(const ModelArgs& a, bool print_graph, const std::string& format);
int cmd_run(const ModelArgs& a, const std::vector<std::string>& inputs, const std::string& output_dir, uint64_t seed,
            int threads, const std::vector<std::string>& extra_outputs = {});
struct BenchArgs {
  int warmup = 5;
  int iters = 10;
  int threads = 0;
  bool json = false;
  uint64_t seed = 0;
};
int cmd_bench(const ModelArgs& a, const BenchArgs& b);
struct ZooArgs {
  std::string name, output;
  std::vector<std::string> shapes;
  uint64_t seed = 0;
  bool denormal_prone = false;
  bool list = false;
  std::string format = "onnx";  // or "mxnet": PREFIX-symbol.json + PREFIX-0000.params
};
int cmd_zoo(const ZooArgs& z);

}  // namespace anvil::cli
