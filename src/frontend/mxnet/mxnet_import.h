// MXNet checkpoint (symbol JSON + .params) -> anvil IR.
//
// Each MXNet op becomes IR ops with the same semantics (docs/ir-conventions.md),
// using MXNet's attribute defaults (BatchNorm fix_gamma=True, eps=1e-3, ...).
// IR node names are the MXNet node names; an MXNet node's outputs are the
// values "<node>_output" (multi-output ops: "<node>_output0", ...), as in
// MXNet's get_internals(). Helper nodes a translation needs are named
// "<node>/<what>".
#pragma once
#include <map>
#include <string>

#include "anvil/anvil.h"
#include "frontend/mxnet/params.h"
#include "frontend/mxnet/symbol.h"
#include "ir/graph.h"

namespace anvil::mxnet {

struct ImportOptions {
  // Shapes bound to data inputs (variables that are not parameters).
  std::map<std::string, Shape> shapes;
  // Missing parameters become zeros (a warning each in Graph::notes) instead
  // of an error. Needs the data shapes, to know the parameters' shapes.
  bool allow_missing = false;
};

// `symbol_name`/`params_name` are used in messages.
Result<Graph> import_mxnet(const MxSymbol& sym, const NDArrayList& params, const std::string& symbol_name,
                           const std::string& params_name, const ImportOptions& options);

// The checkpoint files a model path names: PREFIX (with `epoch`),
// PREFIX-symbol.json, or PREFIX-NNNN.params (whose epoch wins).
struct CheckpointPaths {
  std::string symbol, params;
};
Result<CheckpointPaths> resolve_checkpoint(const std::string& path, int epoch);
// True when `path` looks like an MXNet checkpoint (by name, or a PREFIX whose
// -symbol.json exists).
bool is_mxnet_path(const std::string& path);

Result<Graph> load_mxnet(const std::string& path, const LoadOptions& options);

}  // namespace anvil::mxnet
