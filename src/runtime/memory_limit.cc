#include "runtime/memory_limit.h"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

namespace anvil {

namespace {

// Shape::numel saturates on overflow; the byte count must too.
int64_t bytes_of(const Value& v) {
  const int64_t n = v.shape.numel();
  if (n <= 0) return 0;
  const int64_t esz = static_cast<int64_t>(dtype_size(v.dtype));
  return n > std::numeric_limits<int64_t>::max() / esz ? std::numeric_limits<int64_t>::max() : n * esz;
}

int64_t add_sat(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

MemoryEstimate estimate_memory(const Graph& g) {
  MemoryEstimate e;
  const size_t nv = g.num_values();
  for (size_t i = 0; i < nv; ++i) {
    const Value& v = g.value(static_cast<ValueId>(i));
    if (v.constant) e.weights = add_sat(e.weights, static_cast<int64_t>(v.constant->nbytes()));
  }
  for (ValueId id : g.inputs)
    if (!g.value(id).constant) e.inputs = add_sat(e.inputs, bytes_of(g.value(id)));
  // Last reader of each computed value, in node order; graph outputs live on.
  const auto& nodes = g.nodes();
  const int nn = static_cast<int>(nodes.size());
  std::vector<int> last(nv, -1);
  for (int i = 0; i < nn; ++i)
    for (ValueId in : nodes[static_cast<size_t>(i)].inputs)
      if (in != kNoValue) last[static_cast<size_t>(in)] = i;
  for (ValueId o : g.outputs) last[static_cast<size_t>(o)] = nn;
  std::vector<std::vector<ValueId>> dies(static_cast<size_t>(nn) + 1);
  int64_t live = 0;
  for (int i = 0; i < nn; ++i) {
    const Node& n = nodes[static_cast<size_t>(i)];
    for (ValueId o : n.outputs) {
      if (o == kNoValue || g.value(o).constant) continue;
      const Value& v = g.value(o);
      const int64_t b = bytes_of(v);
      live = add_sat(live, b);
      if (b > e.largest) {
        e.largest = b;
        e.largest_desc = "'" + v.name + "' " + dtype_name(v.dtype) + "[" + v.shape.str() + "]";
      }
      // An output nobody reads still exists while its node runs.
      dies[static_cast<size_t>(std::max(last[static_cast<size_t>(o)], i))].push_back(o);
    }
    if (live > e.peak_activations) {
      e.peak_activations = live;
      e.peak_after = g.node_desc(n);
    }
    for (ValueId d : dies[static_cast<size_t>(i)]) live -= bytes_of(g.value(d));
  }
  return e;
}

Result<int64_t> resolve_memory_limit(int64_t option, std::string* source) {
  if (option > 0) {
    *source = "CompileOptions::memory_limit";
    return option;
  }
  if (option < 0) {
    *source = "none";
    return int64_t{-1};
  }
  if (const char* env = std::getenv("ANVIL_MAX_MEMORY"); env && *env) {
    auto b = parse_byte_size(env);
    if (!b) return invalid_argument(std::string("ANVIL_MAX_MEMORY='") + env + "' is not a size (e.g. 8G, 512M, 1048576)");
    *source = std::string("ANVIL_MAX_MEMORY=") + env;
    return *b;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  *source = "the machine's physical memory";
  if (pages <= 0 || page <= 0) return int64_t{-1};
  return static_cast<int64_t>(pages) * page;
}

std::optional<int64_t> parse_byte_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  const std::string num(text.substr(0, i));
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string unit;
  for (char c : text.substr(i))
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mul = 1;
  if (unit.empty() || unit == "b") mul = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mul = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") mul = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mul = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib") mul = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  const double b = v * mul;
  if (b >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(b);
}

std::string format_bytes(int64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

Status check_memory_limit(const Graph& g, int64_t limit, const std::string& limit_source) {
  if (limit < 0) return Status::ok();
  const MemoryEstimate e = estimate_memory(g);
  if (e.total() <= limit) return Status::ok();
  std::string msg = "the model needs at least " + format_bytes(e.total()) + " (weights " + format_bytes(e.weights) +
                    ", inputs " + format_bytes(e.inputs) + ", activations " + format_bytes(e.peak_activations) +
                    " at their peak after " + e.peak_after + ")";
  if (!e.largest_desc.empty()) msg += "; its largest tensor is " + e.largest_desc + ", " + format_bytes(e.largest);
  msg += "; the memory limit is " + format_bytes(limit) + " (" + limit_source +
         "; raise it with CompileOptions::memory_limit, ANVIL_MAX_MEMORY or --max-memory, or bind smaller input "
         "shapes)";
  return out_of_range(msg);
}

}  // namespace anvil
