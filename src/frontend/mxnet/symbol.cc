#include "frontend/mxnet/symbol.h"

#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/file_bytes.h"
#include "core/json_depth.h"

namespace anvil::mxnet {

namespace {

using json = nlohmann::json;

std::string attr_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Ops whose auxiliary states (moving statistics) 0.8-era files leave out of
// the node's inputs; MXNet adds them as variables named <node>_<aux>.
bool has_bn_aux(const std::string& op) {
  return op == "BatchNorm" || op == "BatchNorm_v1" || op == "CuDNNBatchNorm" || op == "SyncBatchNorm" ||
         op == "_contrib_SyncBatchNorm";
}

std::string node_where(const MxSymbol& s, int64_t i) {
  const MxNode& n = s.nodes[static_cast<size_t>(i)];
  return "node " + std::to_string(i) + " '" + n.name + "' (" + (n.op == "null" ? "variable" : n.op) + ")";
}

// A JSON value quoted in a message, cut short: a hostile entry can be
// megabytes long.
std::string brief(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

Status parse_entry(const json& e, MxEntry& out, const std::string& where) {
  if (!e.is_array() || e.size() < 2 || e.size() > 3)
    return invalid_model(where + " is not an entry [node_id, output_index(, version)]: " + brief(e));
  for (const json& v : e)
    if (!v.is_number_integer()) return invalid_model(where + " has a non-integer field: " + brief(e));
  out.node = e[0].get<int64_t>();
  out.index = e[1].get<int64_t>();
  if (out.index < 0) return invalid_model(where + " has a negative output index: " + brief(e));
  return Status::ok();
}

Status build(const json& j, MxSymbol& s) {
  if (!j.is_object()) return invalid_model("not an MXNet symbol: the top level is not a JSON object");
  if (!j.contains("nodes") || !j["nodes"].is_array())
    return invalid_model("not an MXNet symbol: no \"nodes\" array");
  if (!j.contains("heads") || !j["heads"].is_array())
    return invalid_model("not an MXNet symbol: no \"heads\" array");
  const json& nodes = j["nodes"];
  s.nodes.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const json& jn = nodes[i];
    const std::string where = "node " + std::to_string(i);
    if (!jn.is_object()) return invalid_model(where + " is not a JSON object");
    MxNode& n = s.nodes[i];
    if (!jn.contains("op") || !jn["op"].is_string()) return invalid_model(where + " has no \"op\" string");
    if (!jn.contains("name") || !jn["name"].is_string()) return invalid_model(where + " has no \"name\" string");
    n.op = jn["op"].get<std::string>();
    n.name = jn["name"].get<std::string>();
    const std::string w = where + " '" + n.name + "' (" + n.op + ")";
    // 0.8: operator parameters in "param", user attributes in "attr" (which
    // MXNet renames to hidden __key__ form); later: everything in "attrs".
    if (jn.contains("param") || jn.contains("backward_source_id")) s.legacy = true;
    for (const char* key : {"param", "attrs", "attr"}) {
      if (!jn.contains(key) || jn[key].is_null()) continue;
      const json& a = jn[key];
      if (!a.is_object()) return invalid_model(w + ": \"" + key + "\" is not an object");
      const bool user_attr = std::strcmp(key, "attr") == 0 && (jn.contains("param") || jn.contains("backward_source_id"));
      for (auto it = a.begin(); it != a.end(); ++it) {
        std::string k = it.key();
        if (user_attr && !(k.size() > 4 && k.rfind("__", 0) == 0 && k.compare(k.size() - 2, 2, "__") == 0))
          k = "__" + k + "__";
        n.attrs.emplace(k, attr_string(it.value()));
      }
    }
    if (jn.contains("inputs")) {
      const json& ins = jn["inputs"];
      if (!ins.is_array()) return invalid_model(w + ": \"inputs\" is not an array");
      for (size_t k = 0; k < ins.size(); ++k) {
        MxEntry e;
        ANVIL_TRY(parse_entry(ins[k], e, w + " input " + std::to_string(k)));
        n.inputs.push_back(e);
      }
    }
    if (n.op == "null" && !n.inputs.empty()) return invalid_model(w + ": a variable cannot have inputs");
  }
  for (size_t k = 0; k < j["heads"].size(); ++k) {
    MxEntry e;
    ANVIL_TRY(parse_entry(j["heads"][k], e, "head " + std::to_string(k)));
    s.heads.push_back(e);
  }
  if (s.heads.empty()) return invalid_model("the symbol has no heads (outputs)");
  if (j.contains("arg_nodes")) {
    if (!j["arg_nodes"].is_array()) return invalid_model("\"arg_nodes\" is not an array");
    for (const json& v : j["arg_nodes"]) {
      if (!v.is_number_integer()) return invalid_model("\"arg_nodes\" holds a non-integer: " + brief(v));
      s.arg_nodes.push_back(v.get<int64_t>());
    }
  }
  if (j.contains("attrs") && j["attrs"].is_object() && j["attrs"].contains("mxnet_version")) {
    const json& v = j["attrs"]["mxnet_version"];
    if (v.is_array() && v.size() == 2 && v[1].is_number_integer()) s.mxnet_version = v[1].get<int64_t>();
  }

  const int64_t count = static_cast<int64_t>(s.nodes.size());
  for (int64_t i = 0; i < count; ++i) {
    for (size_t k = 0; k < s.nodes[i].inputs.size(); ++k) {
      const MxEntry& e = s.nodes[i].inputs[k];
      if (e.node < 0 || e.node >= count)
        return invalid_model(node_where(s, i) + ": input " + std::to_string(k) + " refers to node " +
                             std::to_string(e.node) + ", but the symbol has " + std::to_string(count) +
                             " nodes (dangling input)");
    }
  }
  for (const MxEntry& h : s.heads)
    if (h.node < 0 || h.node >= count)
      return invalid_model("head refers to node " + std::to_string(h.node) + ", but the symbol has " +
                           std::to_string(count) + " nodes");
  for (int64_t a : s.arg_nodes) {
    if (a < 0 || a >= count)
      return invalid_model("arg_nodes refers to node " + std::to_string(a) + ", but the symbol has " +
                           std::to_string(count) + " nodes");
    if (s.nodes[static_cast<size_t>(a)].op != "null")
      return invalid_model("arg_nodes lists " + node_where(s, a) + ", which is not a variable");
  }

  // 0.8 -> 0.9 upgrade: BatchNorm's moving statistics become explicit inputs.
  for (int64_t i = 0; i < count; ++i) {
    if (!has_bn_aux(s.nodes[i].op) || s.nodes[i].inputs.size() != 3) continue;
    for (const char* aux : {"moving_mean", "moving_var"}) {
      MxNode v;
      v.op = "null";
      v.name = s.nodes[i].name + "_" + aux;
      s.nodes.push_back(v);
      const int64_t id = static_cast<int64_t>(s.nodes.size()) - 1;
      s.arg_nodes.push_back(id);
      s.nodes[i].inputs.push_back({id, 0});
    }
  }

  // Topological order by iterative DFS; a node met again while still on the
  // stack closes a cycle.
  const size_t n = s.nodes.size();
  std::vector<uint8_t> state(n, 0);  // 0 new, 1 on stack, 2 done
  for (size_t root = 0; root < n; ++root) {
    if (state[root]) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      const auto& ins = s.nodes[v].inputs;
      if (next < ins.size()) {
        const size_t u = static_cast<size_t>(ins[next++].node);
        if (state[u] == 1)
          return invalid_model("the graph has a cycle: " + node_where(s, static_cast<int64_t>(v)) +
                               " depends on itself through " + node_where(s, static_cast<int64_t>(u)));
        if (state[u] == 0) {
          state[u] = 1;
          stack.push_back({u, 0});
        }
        continue;
      }
      state[v] = 2;
      s.topo_order.push_back(static_cast<int64_t>(v));
      stack.pop_back();
    }
  }
  return Status::ok();
}

}  // namespace

Result<MxSymbol> parse_mx_symbol(const std::string& text, const std::string& name) {
  // A symbol nests five levels deep (top, nodes, node, inputs, entry); 64
  // leaves room for attribute objects and refuses a "[[[[..." bomb.
  if (Status d = check_json_depth(text, 64); !d.is_ok()) return invalid_model(name + ": " + d.message());
  json j;
  // nlohmann reports the error position only through its exception.
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return invalid_model(name + ": not valid JSON: " + e.what());
  }
  MxSymbol s;
  Status st;
  try {
    st = build(j, s);
  } catch (const std::exception& e) {
    st = invalid_model(std::string("malformed symbol: ") + e.what());
  }
  if (!st.is_ok()) return std::move(st).with_context(name);
  return s;
}

Result<MxSymbol> load_mx_symbol(const std::string& path) {
  ANVIL_ASSIGN_OR_RETURN(const std::string bytes, read_file_bytes(path));
  return parse_mx_symbol(bytes, path);
}

std::string serialize_mx_symbol(const MxSymbol& sym, const std::vector<int>& num_outputs) {
  json nodes = json::array();
  json row_ptr = json::array({0});
  int64_t rows = 0;
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    const MxNode& n = sym.nodes[i];
    json jn = {{"op", n.op}, {"name", n.name}};
    if (!n.attrs.empty()) {
      json a = json::object();
      for (const auto& [k, v] : n.attrs) a[k] = v;
      jn["attrs"] = a;
    }
    json ins = json::array();
    for (const MxEntry& e : n.inputs) ins.push_back({e.node, e.index, 0});
    jn["inputs"] = ins;
    nodes.push_back(jn);
    rows += i < num_outputs.size() ? num_outputs[i] : 1;
    row_ptr.push_back(rows);
  }
  json heads = json::array();
  for (const MxEntry& e : sym.heads) heads.push_back({e.node, e.index, 0});
  json j = {{"nodes", nodes},
            {"arg_nodes", sym.arg_nodes},
            {"node_row_ptr", row_ptr},
            {"heads", heads},
            {"attrs", {{"mxnet_version", {"int", sym.mxnet_version ? sym.mxnet_version : 10600}}}}};
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace anvil::mxnet
