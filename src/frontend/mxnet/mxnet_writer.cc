#include "frontend/mxnet/mxnet_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace anvil::mxnet {

MxEntry MxBuilder::add_var(const std::string& name) {
  MxNode n;
  n.op = "null";
  n.name = name;
  c_.symbol.nodes.push_back(n);
  c_.num_outputs.push_back(1);
  const int64_t id = static_cast<int64_t>(c_.symbol.nodes.size()) - 1;
  c_.symbol.arg_nodes.push_back(id);
  return {id, 0};
}

MxEntry MxBuilder::data(const std::string& name) { return add_var(name); }

MxEntry MxBuilder::param(const std::string& name, Tensor value, bool aux) {
  c_.params.names.push_back((aux ? "aux:" : "arg:") + name);
  c_.params.arrays.push_back(std::move(value));
  return add_var(name);
}

MxEntry MxBuilder::op(const std::string& op, const std::string& name, std::vector<MxEntry> inputs,
                      std::map<std::string, std::string> attrs, int num_outputs) {
  MxNode n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  c_.symbol.nodes.push_back(std::move(n));
  c_.num_outputs.push_back(num_outputs);
  return {static_cast<int64_t>(c_.symbol.nodes.size()) - 1, 0};
}

MxCheckpoint MxBuilder::finish(std::vector<MxEntry> heads, int64_t mxnet_version) {
  c_.symbol.heads = std::move(heads);
  c_.symbol.mxnet_version = mxnet_version;
  for (size_t i = 0; i < c_.symbol.nodes.size(); ++i) c_.symbol.topo_order.push_back(static_cast<int64_t>(i));
  return std::move(c_);
}

Status save_mxnet_checkpoint(const std::string& prefix, int epoch, const MxCheckpoint& c) {
  const std::string sym_path = prefix + "-symbol.json";
  {
    std::ofstream f(sym_path, std::ios::trunc);
    if (!f) return io_error(sym_path + ": cannot create file (" + std::strerror(errno) + ")");
    f << serialize_mx_symbol(c.symbol, c.num_outputs);
    f.close();
    if (!f) return io_error(sym_path + ": write failed");
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%04d.params", epoch);
  return save_ndarray_list(prefix + buf, c.params);
}

}  // namespace anvil::mxnet
