#include "runtime/artifact.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/hash.h"
#include "core/json_depth.h"
#include "ir/op_registry.h"
#include "kernels/gemm.h"

namespace anvil {

namespace {

using json = nlohmann::json;

constexpr unsigned char kMagic[8] = {0x89, 'A', 'N', 'V', 'I', 'L', '\r', '\n'};
constexpr size_t kAlign = 64;
// Limits a file cannot exceed, checked before anything is allocated: the
// rank of any tensor (ONNX models stay far below), and the length of the
// metadata (ResNet-101's is ~0.5 MB).
constexpr size_t kMaxRank = 32;
constexpr uint64_t kMaxMetaBytes = 256ull << 20;

// The fixed header, little-endian (x86 only writes and reads it).
struct Header {
  unsigned char magic[8];
  uint32_t version;
  uint32_t header_bytes;
  uint64_t file_bytes;
  uint64_t meta_offset, meta_bytes;
  uint64_t data_offset, data_bytes;
  uint64_t payload_hash;  // xxh64 of bytes [header_bytes, file_bytes)
  uint32_t isa;
  uint32_t reserved;
  char producer[48];      // "anvil 0.1.0", NUL-padded
  uint64_t header_hash;   // xxh64 of the bytes before this field
};
static_assert(sizeof(Header) == kArtifactHeaderBytes, "header layout");
static_assert(offsetof(Header, header_hash) == kArtifactHeaderBytes - 8, "header layout");

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// ---------------------------------------------------------------- writing

class BlobTable {
 public:
  // A tensor's reference in the metadata; storage seen before is stored once.
  json add(const Tensor& t) {
    json shape = json::array();
    for (size_t i = 0; i < t.rank(); ++i) shape.push_back(t.dim(i));
    const auto key = std::make_pair(t.raw(), t.nbytes());
    auto it = offsets_.find(key);
    uint64_t off;
    if (it != offsets_.end()) {
      off = it->second;
    } else {
      off = size_;
      offsets_.emplace(key, off);
      blobs_.push_back({t, off});
      size_ = align_up(size_ + t.nbytes());
    }
    return json{{"dtype", dtype_name(t.dtype())}, {"shape", shape}, {"off", off}};
  }
  struct Blob {
    Tensor t;
    uint64_t off;
  };
  const std::vector<Blob>& blobs() const { return blobs_; }
  uint64_t size() const { return size_; }

 private:
  std::map<std::pair<const void*, size_t>, uint64_t> offsets_;
  std::vector<Blob> blobs_;
  uint64_t size_ = 0;
};

uint32_t float_bits(float f) { return std::bit_cast<uint32_t>(f); }
float bits_float(uint32_t b) { return std::bit_cast<float>(b); }

// Floats are stored as their bit patterns: exact, and NaN/Inf survive JSON.
json attr_json(const AttrValue& v, BlobTable& blobs) {
  switch (v.index()) {
    case 0: return json{{"i", std::get<int64_t>(v)}};
    case 1: return json{{"f", float_bits(std::get<float>(v))}};
    case 2: return json{{"s", std::get<std::string>(v)}};
    case 3: return json{{"ints", std::get<std::vector<int64_t>>(v)}};
    case 4: {
      json a = json::array();
      for (float f : std::get<std::vector<float>>(v)) a.push_back(float_bits(f));
      return json{{"floats", a}};
    }
    case 5: return json{{"strings", std::get<std::vector<std::string>>(v)}};
    default: return json{{"t", blobs.add(std::get<Tensor>(v))}};
  }
}

Status write_all(int fd, const void* p, size_t n, const std::string& path) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error(path + ": write failed: " + std::strerror(errno));
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
  return Status::ok();
}

}  // namespace

// Every microkernel a kernel may have packed for at this ISA (which one a
// node uses follows from its shapes, see kernels::gemm_plan).
std::string packed_layout(Isa isa) {
  std::string s;
  for (const kernels::GemmUkernelInfo* uk : kernels::gemm_ukernels(kernels::gemm_ukernel_for(isa).isa))
    s += std::string(s.empty() ? "" : " + ") + uk->name + " mr=" + std::to_string(uk->mr) + " nr=" + std::to_string(uk->nr);
  return s + " kc=" + std::to_string(kernels::gemm_kc()) + " plan=" + std::to_string(kernels::kGemmPlanVersion);
}

Status write_artifact(const std::string& path, const Graph& g, const Precompiled& pre) {
  if (pre.choices.size() != g.nodes().size())
    return internal_error("write_artifact: " + std::to_string(pre.choices.size()) + " kernel choices for " +
                          std::to_string(g.nodes().size()) + " nodes");
  // Only values the nodes, inputs and outputs refer to: the optimizer leaves
  // dead ones behind (e.g. the unfolded conv weights), and they would double
  // the file.
  std::vector<ValueId> remap(g.num_values(), kNoValue);
  std::vector<ValueId> kept;
  auto keep = [&](ValueId id) {
    if (id == kNoValue || remap[static_cast<size_t>(id)] != kNoValue) return;
    remap[static_cast<size_t>(id)] = static_cast<ValueId>(kept.size());
    kept.push_back(id);
  };
  for (ValueId id : g.inputs) keep(id);
  for (const Node& n : g.nodes()) {
    for (ValueId id : n.inputs) keep(id);
    for (ValueId id : n.outputs) keep(id);
  }
  for (ValueId id : g.outputs) keep(id);
  auto ids = [&](const std::vector<ValueId>& v) {
    json a = json::array();
    for (ValueId id : v) a.push_back(id == kNoValue ? kNoValue : remap[static_cast<size_t>(id)]);
    return a;
  };

  BlobTable blobs;
  json values = json::array();
  for (ValueId id : kept) {
    const Value& v = g.value(id);
    json jv{{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape.dims()}, {"typed", v.has_type},
            {"init", v.is_initializer}};
    if (!v.dim_names.empty()) jv["dim_names"] = v.dim_names;
    if (v.constant) jv["const"] = blobs.add(*v.constant);
    values.push_back(std::move(jv));
  }
  json nodes = json::array(), kernels = json::array();
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    json attrs = json::object();
    for (const auto& [name, v] : n.attrs.all()) attrs[name] = attr_json(v, blobs);
    nodes.push_back(json{{"name", n.name}, {"op", n.op}, {"in", ids(n.inputs)}, {"out", ids(n.outputs)},
                         {"attrs", attrs}, {"origin", n.origin}});
    const KernelChoice& c = pre.choices[i];
    if (c.factory.empty()) continue;
    json packed = json::array();
    for (const Tensor& t : c.packed) packed.push_back(blobs.add(t));
    kernels.push_back(json{{"node", i}, {"factory", c.factory}, {"packed", packed}});
  }
  json meta{{"anvil", pre.anvil_version},
            {"graph",
             {{"name", g.name},
              {"source", g.source},
              {"producer", g.producer},
              {"opset", g.opset},
              {"notes", g.notes},
              {"values", values},
              {"nodes", nodes},
              {"inputs", ids(g.inputs)},
              {"outputs", ids(g.outputs)}}},
            {"kernels", kernels},
            {"packed_layout", packed_layout(pre.isa)},
            {"compile", {{"opt_level", pre.opt_level}, {"exact", pre.exact}, {"flush_denormals", pre.flush_denormals}}},
            {"report", pre.report}};
  const std::string text = meta.dump(-1, ' ', false, json::error_handler_t::replace);

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kArtifactVersion;
  h.header_bytes = kArtifactHeaderBytes;
  h.meta_offset = kArtifactHeaderBytes;
  h.meta_bytes = text.size();
  h.data_offset = align_up(h.meta_offset + h.meta_bytes);
  h.data_bytes = blobs.size();
  h.file_bytes = h.data_offset + h.data_bytes;
  h.isa = static_cast<uint32_t>(pre.isa);
  std::snprintf(h.producer, sizeof h.producer, "anvil %s", pre.anvil_version.c_str());

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(path + ": cannot create: " + std::strerror(errno));
  Status s = [&]() -> Status {
    ANVIL_TRY(write_all(fd, &h, sizeof h, path));
    ANVIL_TRY(write_all(fd, text.data(), text.size(), path));
    static const char zeros[kAlign] = {};
    ANVIL_TRY(write_all(fd, zeros, h.data_offset - h.meta_offset - h.meta_bytes, path));
    uint64_t at = 0;
    for (const BlobTable::Blob& b : blobs.blobs()) {
      ANVIL_TRY(write_all(fd, b.t.raw(), b.t.nbytes(), path));
      at = b.off + b.t.nbytes();
      ANVIL_TRY(write_all(fd, zeros, align_up(at) - at, path));
    }
    // The payload checksum over what was written, read back through a
    // mapping; then the header that seals it.
    void* m = ::mmap(nullptr, h.file_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return io_error(path + ": cannot map for the checksum: " + std::strerror(errno));
    h.payload_hash = xxh64(static_cast<const char*>(m) + kArtifactHeaderBytes, h.file_bytes - kArtifactHeaderBytes);
    ::munmap(m, h.file_bytes);
    h.header_hash = xxh64(&h, offsetof(Header, header_hash));
    if (::pwrite(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
      return io_error(path + ": write failed: " + std::strerror(errno));
    return Status::ok();
  }();
  if (::close(fd) != 0 && s.is_ok()) s = io_error(path + ": close failed: " + std::strerror(errno));
  if (s.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    s = io_error(path + ": cannot rename " + tmp + ": " + std::strerror(errno));
  if (!s.is_ok()) std::remove(tmp.c_str());
  return s;
}

// ---------------------------------------------------------------- reading

namespace {

// Thrown inside the metadata reader only; load_artifact turns it into a Status.
struct MetaError {
  std::string what;
};

[[noreturn]] void fail(const std::string& what) { throw MetaError{what}; }

const json& field(const json& o, const char* key, const std::string& where) {
  if (!o.is_object()) fail(where + " is not an object");
  auto it = o.find(key);
  if (it == o.end()) fail(where + " has no '" + key + "'");
  return *it;
}

int64_t as_int(const json& j, const std::string& where) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) fail(where + " is out of range");
    return static_cast<int64_t>(u);
  }
  if (!j.is_number_integer()) fail(where + " is not an integer");
  return j.get<int64_t>();
}

const std::string& as_string(const json& j, const std::string& where) {
  if (!j.is_string()) fail(where + " is not a string");
  return j.get_ref<const std::string&>();
}

bool as_bool(const json& j, const std::string& where) {
  if (!j.is_boolean()) fail(where + " is not a boolean");
  return j.get<bool>();
}

const json& as_array(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where + " is not an array");
  return j;
}

std::vector<std::string> as_strings(const json& j, const std::string& where) {
  std::vector<std::string> r;
  for (const json& e : as_array(j, where)) r.push_back(as_string(e, where + " element"));
  return r;
}

class Reader {
 public:
  Reader(unsigned char* data, uint64_t data_bytes, std::shared_ptr<void> owner)
      : data_(data), data_bytes_(data_bytes), owner_(std::move(owner)) {}

  Shape shape(const json& j, const std::string& where, bool allow_unknown) {
    const json& a = as_array(j, where);
    if (a.size() > kMaxRank) fail(where + " has rank " + std::to_string(a.size()) + ", over " + std::to_string(kMaxRank));
    std::vector<int64_t> dims;
    for (const json& d : a) {
      const int64_t v = as_int(d, where + " dimension");
      if (v < (allow_unknown ? -1 : 0)) fail(where + " has dimension " + std::to_string(v));
      dims.push_back(v);
    }
    return Shape(dims);
  }

  // A tensor inside the data section, borrowed from the mapping.
  Tensor tensor(const json& j, const std::string& where) {
    const auto dt = dtype_from_name(as_string(field(j, "dtype", where), where + " dtype"));
    if (!dt) fail(where + ": unknown dtype");
    const Shape s = shape(field(j, "shape", where), where + " shape", false);
    // Element count against the data section before multiplying further,
    // so a hostile shape cannot overflow.
    uint64_t numel = 1;
    for (size_t i = 0; i < s.rank(); ++i) {
      const uint64_t d = static_cast<uint64_t>(s[i]);
      if (d != 0 && numel > data_bytes_ / d) fail(where + " (" + s.str() + ") is larger than the data section");
      numel *= d;
    }
    const uint64_t nbytes = numel * dtype_size(*dt);
    const int64_t off = as_int(field(j, "off", where), where + " offset");
    if (off < 0 || static_cast<uint64_t>(off) % kAlign != 0)
      fail(where + ": offset " + std::to_string(off) + " is not 64-byte aligned");
    if (static_cast<uint64_t>(off) > data_bytes_ || nbytes > data_bytes_ - static_cast<uint64_t>(off))
      fail(where + " (" + std::string(dtype_name(*dt)) + "[" + s.str() + "] at " + std::to_string(off) +
           ") runs past the data section (" + std::to_string(data_bytes_) + " bytes)");
    return Tensor::view(*dt, s, data_ + off, owner_);
  }

  AttrValue attr(const json& j, const std::string& where) {
    if (!j.is_object() || j.size() != 1) fail(where + " is not a one-key object");
    const std::string& k = j.begin().key();
    const json& v = j.begin().value();
    if (k == "i") return as_int(v, where);
    if (k == "f") return bits_float(static_cast<uint32_t>(as_int(v, where)));
    if (k == "s") return as_string(v, where);
    if (k == "ints") {
      std::vector<int64_t> r;
      for (const json& e : as_array(v, where)) r.push_back(as_int(e, where));
      return r;
    }
    if (k == "floats") {
      std::vector<float> r;
      for (const json& e : as_array(v, where)) r.push_back(bits_float(static_cast<uint32_t>(as_int(e, where))));
      return r;
    }
    if (k == "strings") return as_strings(v, where);
    if (k == "t") return tensor(v, where);
    fail(where + ": unknown attribute kind '" + k + "'");
  }

 private:
  unsigned char* data_;
  uint64_t data_bytes_;
  std::shared_ptr<void> owner_;
};

std::vector<ValueId> value_ids(const json& j, size_t nv, bool allow_none, const std::string& where) {
  std::vector<ValueId> r;
  for (const json& e : as_array(j, where)) {
    const int64_t id = as_int(e, where);
    if (id == kNoValue && allow_none) {
      r.push_back(kNoValue);
      continue;
    }
    if (id < 0 || static_cast<uint64_t>(id) >= nv)
      fail(where + " refers to value " + std::to_string(id) + " of " + std::to_string(nv));
    r.push_back(static_cast<ValueId>(id));
  }
  return r;
}

LoadedArtifact read_meta(const json& meta, Reader& rd) {
  LoadedArtifact a;
  a.pre.anvil_version = as_string(field(meta, "anvil", "metadata"), "anvil version");
  const json& jg = field(meta, "graph", "metadata");
  Graph& g = a.graph;
  g.name = as_string(field(jg, "name", "graph"), "graph name");
  g.source = as_string(field(jg, "source", "graph"), "graph source");
  g.producer = as_string(field(jg, "producer", "graph"), "graph producer");
  g.opset = as_int(field(jg, "opset", "graph"), "graph opset");
  g.notes = as_strings(field(jg, "notes", "graph"), "graph notes");

  const json& values = as_array(field(jg, "values", "graph"), "graph values");
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < values.size(); ++i) {
    const json& jv = values[i];
    const std::string where = "value " + std::to_string(i);
    const std::string& name = as_string(field(jv, "name", where), where + " name");
    if (!name.empty() && !names.insert(name).second) fail(where + ": name '" + name + "' is used twice");
    const auto dt = dtype_from_name(as_string(field(jv, "dtype", where), where + " dtype"));
    if (!dt) fail(where + " ('" + name + "'): unknown dtype");
    const ValueId id = g.add_value(name, *dt, rd.shape(field(jv, "shape", where), where + " shape", true));
    Value& v = g.value(id);
    v.has_type = as_bool(field(jv, "typed", where), where + " typed");
    v.is_initializer = as_bool(field(jv, "init", where), where + " init");
    if (jv.contains("dim_names")) v.dim_names = as_strings(jv["dim_names"], where + " dim_names");
    if (jv.contains("const")) {
      Tensor t = rd.tensor(jv["const"], where + " ('" + name + "') data");
      if (t.dtype() != v.dtype || !(t.shape() == v.shape))
        fail(where + " ('" + name + "'): data " + t.desc() + " does not match its type " + dtype_name(v.dtype) + "[" +
             v.shape.str() + "]");
      v.constant = std::move(t);
    }
  }
  const size_t nv = g.num_values();
  const json& nodes = as_array(field(jg, "nodes", "graph"), "graph nodes");
  for (size_t i = 0; i < nodes.size(); ++i) {
    const json& jn = nodes[i];
    const std::string where = "node " + std::to_string(i);
    Node n;
    n.name = as_string(field(jn, "name", where), where + " name");
    n.op = as_string(field(jn, "op", where), where + " op");
    const std::string desc = where + " ('" + n.name + "', " + n.op + ")";
    n.inputs = value_ids(field(jn, "in", where), nv, true, desc + " inputs");
    n.outputs = value_ids(field(jn, "out", where), nv, true, desc + " outputs");
    const json& attrs = field(jn, "attrs", where);
    if (!attrs.is_object()) fail(desc + " attrs is not an object");
    for (auto it = attrs.begin(); it != attrs.end(); ++it)
      n.attrs.set(it.key(), rd.attr(it.value(), desc + " attribute '" + it.key() + "'"));
    n.origin = as_strings(field(jn, "origin", where), desc + " origin");
    g.add_node(std::move(n));
  }
  g.inputs = value_ids(field(jg, "inputs", "graph"), nv, false, "graph inputs");
  g.outputs = value_ids(field(jg, "outputs", "graph"), nv, false, "graph outputs");

  a.pre.choices.resize(g.nodes().size());
  const json& kernels = as_array(field(meta, "kernels", "metadata"), "kernels");
  for (size_t i = 0; i < kernels.size(); ++i) {
    const json& jk = kernels[i];
    const std::string where = "kernel " + std::to_string(i);
    const int64_t node = as_int(field(jk, "node", where), where + " node");
    if (node < 0 || static_cast<size_t>(node) >= g.nodes().size())
      fail(where + " is for node " + std::to_string(node) + " of " + std::to_string(g.nodes().size()));
    KernelChoice& c = a.pre.choices[static_cast<size_t>(node)];
    if (!c.factory.empty()) fail(where + ": node " + std::to_string(node) + " has two kernels");
    c.factory = as_string(field(jk, "factory", where), where + " factory");
    if (c.factory.empty()) fail(where + ": empty factory name");
    const json& packed = as_array(field(jk, "packed", where), where + " packed");
    for (size_t p = 0; p < packed.size(); ++p)
      c.packed.push_back(rd.tensor(packed[p], where + " packed tensor " + std::to_string(p)));
  }
  const json& jc = field(meta, "compile", "metadata");
  a.pre.opt_level = static_cast<int>(as_int(field(jc, "opt_level", "compile"), "opt_level"));
  a.pre.exact = as_bool(field(jc, "exact", "compile"), "exact");
  a.pre.flush_denormals = as_bool(field(jc, "flush_denormals", "compile"), "flush_denormals");
  a.pre.report = as_string(field(meta, "report", "metadata"), "report");
  a.pre.packed_layout = as_string(field(meta, "packed_layout", "metadata"), "packed_layout");
  return a;
}

std::string size_str(uint64_t n) { return std::to_string(n) + " bytes"; }

Result<LoadedArtifact> parse_artifact(unsigned char* base, uint64_t size, std::shared_ptr<void> owner,
                                      const std::string& name) {
  if (size < sizeof kMagic || std::memcmp(base, kMagic, sizeof kMagic) != 0)
    return invalid_model(name + ": not an anvil compiled model (no .anvil magic number)");
  if (size < kArtifactHeaderBytes)
    return invalid_model(name + ": truncated: " + size_str(size) + ", shorter than the " +
                         std::to_string(kArtifactHeaderBytes) + "-byte header");
  Header h;
  std::memcpy(&h, base, sizeof h);
  if (h.version != kArtifactVersion)
    return unsupported(name + ": .anvil format version " + std::to_string(h.version) + "; this anvil (" + version() +
                       ") reads version " + std::to_string(kArtifactVersion) +
                       ": compile the model again with this anvil (anvil compile)");
  if (xxh64(&h, offsetof(Header, header_hash)) != h.header_hash)
    return invalid_model(name + ": header checksum mismatch: the file is corrupt");
  if (h.header_bytes != kArtifactHeaderBytes) return invalid_model(name + ": header size " + std::to_string(h.header_bytes));
  if (size < h.file_bytes)
    return invalid_model(name + ": truncated: " + size_str(size) + ", the header says " + size_str(h.file_bytes));
  if (size > h.file_bytes)
    return invalid_model(name + ": " + size_str(size) + ", the header says " + size_str(h.file_bytes) +
                         " (trailing data: not a file anvil wrote)");
  if (h.meta_offset != kArtifactHeaderBytes || h.meta_bytes > kMaxMetaBytes ||
      h.meta_bytes > h.file_bytes - h.meta_offset || h.data_offset < h.meta_offset + h.meta_bytes ||
      h.data_offset % kAlign != 0 || h.data_offset > h.file_bytes || h.data_bytes != h.file_bytes - h.data_offset)
    return invalid_model(name + ": inconsistent section table (metadata " + std::to_string(h.meta_offset) + "+" +
                         std::to_string(h.meta_bytes) + ", data " + std::to_string(h.data_offset) + "+" +
                         std::to_string(h.data_bytes) + ", file " + std::to_string(h.file_bytes) + ")");
  if (xxh64(base + kArtifactHeaderBytes, h.file_bytes - kArtifactHeaderBytes) != h.payload_hash)
    return invalid_model(name + ": checksum mismatch: the file is corrupt (or was changed after anvil compile)");
  if (h.isa > static_cast<uint32_t>(Isa::kAvx512)) return invalid_model(name + ": unknown ISA code " + std::to_string(h.isa));
  const Isa isa = static_cast<Isa>(h.isa);
  if (isa > active_isa())
    return unsupported(name + ": compiled for " + isa_name(isa) + " kernels, but this CPU runs up to " +
                       isa_name(active_isa()) + " (host " + isa_name(host_isa()) +
                       ", ANVIL_MAX_ISA applies): compile it on this machine, or with --max-isa " + isa_name(active_isa()));
  register_all_ops();  // the graph verifier looks every op up
  // The writer nests about ten levels; the guard keeps a resealed "[[[[..."
  // from recursing in the DOM code below.
  if (Status d = check_json_depth(std::string_view(reinterpret_cast<const char*>(base) + h.meta_offset, h.meta_bytes), 64);
      !d.is_ok())
    return invalid_model(name + ": metadata: " + d.message());
  json meta = json::parse(base + h.meta_offset, base + h.meta_offset + h.meta_bytes, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded()) return invalid_model(name + ": metadata is not valid JSON");
  Reader rd(base + h.data_offset, h.data_bytes, std::move(owner));
  try {
    LoadedArtifact a = read_meta(meta, rd);
    a.pre.isa = isa;
    a.pre.path = name;
    a.pre.file_bytes = h.file_bytes;
    Status s = a.graph.verify();
    if (!s.is_ok()) return std::move(s).with_context(name);
    return a;
  } catch (const MetaError& e) {
    return invalid_model(name + ": metadata: " + e.what);
  }
}

}  // namespace

bool is_artifact_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char m[sizeof kMagic];
  const bool yes = std::fread(m, 1, sizeof m, f) == sizeof m && std::memcmp(m, kMagic, sizeof m) == 0;
  std::fclose(f);
  return yes;
}

Result<LoadedArtifact> load_artifact(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? not_found(path + ": no such file") : io_error(path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return invalid_model(path + ": empty file");
  }
  // Read-only: weights are shared by every executor and never written.
  // MAP_POPULATE maps the (page-cached) file in one go rather than a fault
  // per page (writable private pages would be copied instead: 10x slower).
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (m == MAP_FAILED) return io_error(path + ": cannot map: " + std::strerror(map_errno));
  std::shared_ptr<void> owner(m, [size](void* p) { ::munmap(p, size); });
  auto r = parse_artifact(static_cast<unsigned char*>(m), size, owner, path);
  if (r) r->pre.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result<LoadedArtifact> load_artifact_bytes(const void* data, size_t size, const std::string& name) {
  std::shared_ptr<void> owner(aligned_alloc_bytes(size), aligned_free_bytes);
  if (!owner) return out_of_range(name + ": out of memory");
  if (size) std::memcpy(owner.get(), data, size);
  return parse_artifact(static_cast<unsigned char*>(owner.get()), size, owner, name);
}

}  // namespace anvil
