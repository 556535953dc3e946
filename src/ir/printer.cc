#include "ir/printer.h"

#include <sstream>

namespace anvil {

namespace {

std::string type_str(const Value& v) {
  if (!v.has_type) return "?";
  std::string s = std::string(dtype_name(v.dtype)) + "[";
  for (size_t i = 0; i < v.shape.rank(); ++i) {
    if (i) s += "x";
    if (v.shape[i] >= 0) s += std::to_string(v.shape[i]);
    else s += i < v.dim_names.size() && !v.dim_names[i].empty() ? v.dim_names[i] : "?";
  }
  return s + "]";
}

std::string dot_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r;
}

}  // namespace

std::string graph_to_text(const Graph& g) {
  std::ostringstream os;
  os << "graph " << (g.name.empty() ? "<unnamed>" : g.name) << " (opset " << g.opset << ", "
     << g.nodes().size() << " nodes, " << g.num_parameters() << " parameters)\n";
  for (ValueId in : g.inputs) os << "  input  %" << g.value(in).name << ": " << type_str(g.value(in)) << "\n";
  for (const Node& n : g.nodes()) {
    os << "  ";
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (i) os << ", ";
      os << (n.outputs[i] == kNoValue ? std::string("_") : "%" + g.value(n.outputs[i]).name + ": " +
                                                               type_str(g.value(n.outputs[i])));
    }
    os << " = " << n.op << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (i) os << ", ";
      if (n.inputs[i] == kNoValue) {
        os << "_";
        continue;
      }
      const Value& v = g.value(n.inputs[i]);
      os << (v.is_initializer ? "@" : "%") << v.name;
    }
    os << ")";
    if (!n.attrs.all().empty()) {
      os << " {";
      bool first = true;
      for (const auto& [k, v] : n.attrs.all()) {
        os << (first ? "" : ", ") << k << "=" << attr_to_string(v);
        first = false;
      }
      os << "}";
    }
    os << "  # " << n.name << "\n";
  }
  for (ValueId out : g.outputs) os << "  output %" << g.value(out).name << ": " << type_str(g.value(out)) << "\n";
  return os.str();
}

std::string graph_to_dot(const Graph& g) {
  std::ostringstream os;
  os << "digraph \"" << dot_escape(g.name.empty() ? "anvil" : g.name) << "\" {\n"
     << "  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8eef7\", fontname=\"Helvetica\"];\n";
  for (ValueId in : g.inputs)
    os << "  \"v" << in << "\" [label=\"" << dot_escape(g.value(in).name + "\n" + type_str(g.value(in)))
       << "\", shape=ellipse, fillcolor=\"#d5f5d5\"];\n";
  for (ValueId out : g.outputs)
    os << "  \"v" << out << "\" [label=\"" << dot_escape(g.value(out).name + "\n" + type_str(g.value(out)))
       << "\", shape=ellipse, fillcolor=\"#f5e0d5\"];\n";
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    os << "  \"n" << i << "\" [label=\"" << dot_escape(n.op + "\n" + n.name) << "\"];\n";
    for (ValueId in : n.inputs) {
      if (in == kNoValue) continue;
      const Value& v = g.value(in);
      if (v.is_initializer) continue;  // weights would drown the structure
      const std::string src = v.producer >= 0 ? "n" + std::to_string(v.producer) : "v" + std::to_string(in);
      os << "  \"" << src << "\" -> \"n" << i << "\" [label=\"" << dot_escape(type_str(v)) << "\", fontsize=9];\n";
    }
  }
  for (ValueId out : g.outputs) {
    const Value& v = g.value(out);
    if (v.producer >= 0) os << "  \"n" << v.producer << "\" -> \"v" << out << "\";\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace anvil
