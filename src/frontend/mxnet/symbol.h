// MXNet symbol JSON (`PREFIX-symbol.json`): the nnvm form (`nodes` with
// `attrs`, `arg_nodes`, `node_row_ptr`, `heads`) and the 0.8-era form
// (`param` + `attr`, `backward_source_id`, 2-element input entries, and
// BatchNorm without its moving_mean/moving_var inputs), which is upgraded to
// the nnvm form while parsing, as MXNet's UpgradeJSON does.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "anvil/status.h"

namespace anvil::mxnet {

struct MxEntry {
  int64_t node = 0;
  int64_t index = 0;  // output of that node
};

struct MxNode {
  std::string op;  // "null" for variables (data and parameters)
  std::string name;
  // Operator parameters and hidden attributes (`__shape__`, `__lr_mult__`),
  // all as MXNet writes them: strings.
  std::map<std::string, std::string> attrs;
  std::vector<MxEntry> inputs;
};

struct MxSymbol {
  std::vector<MxNode> nodes;
  std::vector<int64_t> arg_nodes;
  std::vector<MxEntry> heads;
  int64_t mxnet_version = 0;  // 0 when the file does not say
  bool legacy = false;        // upgraded from the 0.8-era form
  // Node ids in an order where every node comes after its inputs.
  std::vector<int64_t> topo_order;
};

// Errors name `name` (the file), and the node by name, index and op:
// malformed JSON (with the parser's position), missing fields, entries that
// point outside the node list (dangling inputs), cycles.
Result<MxSymbol> parse_mx_symbol(const std::string& text, const std::string& name);
Result<MxSymbol> load_mx_symbol(const std::string& path);

// Writes the nnvm form, as MXNet 1.x saves it. `num_outputs[i]` is node i's
// output count (for node_row_ptr); empty means one each.
std::string serialize_mx_symbol(const MxSymbol& sym, const std::vector<int>& num_outputs = {});

}  // namespace anvil::mxnet
