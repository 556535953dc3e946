#include "frontend/mxnet/params.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/file_bytes.h"

namespace anvil::mxnet {

namespace {

// More dimensions than any real tensor has; a larger count is garbage.
constexpr uint32_t kMaxNdim = 32;

const char* stype_name(int32_t s) {
  switch (s) {
    case 0: return "default";
    case 1: return "row_sparse";
    case 2: return "csr";
    default: return "undefined";
  }
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

class Reader {
 public:
  Reader(std::string_view b, std::string ctx) : b_(b), ctx_(std::move(ctx)) {}
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }

  template <class T>
  Status read(T& v, const char* what) {
    if (left() < sizeof(T)) return truncated(what, sizeof(T));
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }
  Status read_bytes(void* dst, size_t n, const char* what) {
    if (left() < n) return truncated(what, n);
    if (n) std::memcpy(dst, b_.data() + pos_, n);
    pos_ += n;
    return Status::ok();
  }
  Status truncated(const char* what, size_t need) const {
    return invalid_model("truncated: " + std::string(what) + " at byte " + std::to_string(pos_) + " needs " +
                         std::to_string(need) + " bytes, " + std::to_string(left()) + " left");
  }

 private:
  std::string_view b_;
  std::string ctx_;
  size_t pos_ = 0;
};

struct DTypeInfo {
  bool ok = false;
  DType stored = DType::kF32;  // how the bytes are laid out
  size_t size = 0;
};

DTypeInfo type_flag_info(int32_t f) {
  switch (f) {
    case 0: return {true, DType::kF32, 4};
    case 1: return {true, DType::kF64, 8};
    case 2: return {true, DType::kF16, 2};
    case 3: return {true, DType::kU8, 1};
    case 4: return {true, DType::kI32, 4};
    case 5: return {true, DType::kI8, 1};
    case 6: return {true, DType::kI64, 8};
    case 7: return {true, DType::kBool, 1};
    case 12: return {true, DType::kBF16, 2};
    default: return {};
  }
}

int32_t type_flag_of(DType t) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF64: return 1;
    case DType::kF16: return 2;
    case DType::kU8: return 3;
    case DType::kI32: return 4;
    case DType::kI8: return 5;
    case DType::kI64: return 6;
    case DType::kBool: return 7;
    case DType::kBF16: return 12;
  }
  return -1;
}

struct Counts {
  int f64 = 0, f16 = 0, bf16 = 0, none = 0;
  int versions[4] = {0, 0, 0, 0};
};

Status read_record(Reader& r, Tensor& out, Counts& counts) {
  uint32_t magic = 0;
  ANVIL_TRY(r.read(magic, "record magic"));
  int version = 0;
  if (magic == kNDArrayV3Magic) version = 3;
  else if (magic == kNDArrayV2Magic) version = 2;
  else if (magic == kNDArrayV1Magic) version = 1;
  else if (magic > kMaxNdim)
    return invalid_model("unknown record magic " + hex32(magic) + " (not a V1/V2/V3 NDArray record, and too large "
                         "for the dimension count of a legacy V0 record)");
  counts.versions[version]++;

  if (version >= 2) {
    int32_t stype = 0;
    ANVIL_TRY(r.read(stype, "storage type"));
    if (stype != 0)
      return unsupported("storage type " + std::to_string(stype) + " (" + stype_name(stype) +
                         ") is not supported; anvil reads dense arrays only (convert with .tostype('default'))");
  }

  // Shape. V0 packs the dims as u32 after the ndim held in `magic`.
  int64_t ndim = 0;
  bool none = false;
  if (version == 0) {
    ndim = magic;
  } else {
    uint32_t raw = 0;
    ANVIL_TRY(r.read(raw, "ndim"));
    if (version == 3 && static_cast<int32_t>(raw) == -1) {
      none = true;  // numpy-shape mode: unknown shape
    } else if (raw > kMaxNdim) {
      return invalid_model("absurd ndim " + std::to_string(raw) + " (at most " + std::to_string(kMaxNdim) + ")");
    } else {
      ndim = raw;
    }
  }
  std::vector<int64_t> dims(static_cast<size_t>(ndim));
  for (int64_t d = 0; d < ndim; ++d) {
    if (version == 0) {
      uint32_t v = 0;
      ANVIL_TRY(r.read(v, "dimension"));
      dims[d] = v;
    } else {
      ANVIL_TRY(r.read(dims[d], "dimension"));
      if (dims[d] == -1 && version == 3) none = true;
      else if (dims[d] < 0) return invalid_model("negative dimension " + std::to_string(dims[d]));
    }
  }
  // Before numpy shapes, ndim 0 meant "no shape": such a record ends here.
  if (none || (version < 3 && ndim == 0)) {
    counts.none++;
    out = Tensor();
    return Status::ok();
  }
  int32_t dev_type = 0, dev_id = 0, flag = 0;
  ANVIL_TRY(r.read(dev_type, "context"));
  ANVIL_TRY(r.read(dev_id, "context"));
  ANVIL_TRY(r.read(flag, "type flag"));
  const DTypeInfo ti = type_flag_info(flag);
  if (!ti.ok)
    return unsupported("data type " + std::string(mx_type_flag_name(flag)) + " (type flag " + std::to_string(flag) +
                       ") is not supported (anvil reads float32, float64, float16, bfloat16, uint8, int8, int32, "
                       "int64, bool)");
  // The element count is checked against the bytes left before anything is
  // allocated, so a hostile header cannot request a huge buffer.
  uint64_t numel = 1;
  for (int64_t d : dims) {
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d) / ti.size)
      return invalid_model("shape " + Shape(dims).str() + " overflows");
    numel *= static_cast<uint64_t>(d);
  }
  const uint64_t nbytes = numel * ti.size;
  if (nbytes > r.left())
    return invalid_model("truncated: " + std::string(mx_type_flag_name(flag)) + "[" + Shape(dims).str() + "] needs " +
                         std::to_string(nbytes) + " data bytes at byte " + std::to_string(r.pos()) + ", only " +
                         std::to_string(r.left()) + " left");
  Tensor t(ti.stored, Shape(dims));
  ANVIL_TRY(r.read_bytes(t.raw(), nbytes, "data"));
  // anvil computes in f32: wide and narrow floats are converted here, once.
  if (ti.stored == DType::kF64) {
    t = t.cast(DType::kF32);
    counts.f64++;
  } else if (ti.stored == DType::kF16) {
    t = t.cast(DType::kF32);
    counts.f16++;
  } else if (ti.stored == DType::kBF16) {
    t = t.cast(DType::kF32);
    counts.bf16++;
  }
  out = std::move(t);
  return Status::ok();
}

}  // namespace

const char* mx_type_flag_name(int32_t flag) {
  switch (flag) {
    case 0: return "float32";
    case 1: return "float64";
    case 2: return "float16";
    case 3: return "uint8";
    case 4: return "int32";
    case 5: return "int8";
    case 6: return "int64";
    case 7: return "bool";
    case 8: return "int16";
    case 9: return "uint16";
    case 10: return "uint32";
    case 11: return "uint64";
    case 12: return "bfloat16";
    default: return "unknown";
  }
}

Result<NDArrayList> parse_ndarray_list(std::string_view bytes, const std::string& name) {
  Reader r(bytes, name);
  auto fail = [&](Status s) { return std::move(s).with_context(name); };
  uint64_t magic = 0, reserved = 0, count = 0;
  if (bytes.size() < 8) return fail(invalid_model("not an MXNet NDArray file: " + std::to_string(bytes.size()) + " bytes"));
  ANVIL_TRY(r.read(magic, "header"));
  if (magic != kNDArrayListMagic) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llX", static_cast<unsigned long long>(magic));
    return fail(invalid_model(std::string("not an MXNet NDArray file: header magic ") + buf + ", expected 0x112"));
  }
  Status s = r.read(reserved, "header");
  if (s.is_ok()) s = r.read(count, "array count");
  if (!s.is_ok()) return fail(s);
  // Every record takes at least 4 bytes (a V0 record of ndim 0).
  if (count > r.left() / 4)
    return fail(invalid_model("array count " + std::to_string(count) + " cannot fit in the " + std::to_string(r.left()) +
                              " bytes left"));
  NDArrayList list;
  list.arrays.resize(static_cast<size_t>(count));
  Counts counts;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = r.pos();
    s = read_record(r, list.arrays[static_cast<size_t>(i)], counts);
    if (!s.is_ok())
      return fail(std::move(s).with_context("array " + std::to_string(i) + " of " + std::to_string(count) +
                                            " (record at byte " + std::to_string(at) + ")"));
  }
  uint64_t nnames = 0;
  s = r.read(nnames, "name count");
  if (!s.is_ok()) return fail(s);
  if (nnames != 0 && nnames != count)
    return fail(invalid_model("the file holds " + std::to_string(count) + " arrays but " + std::to_string(nnames) +
                              " names"));
  list.names.resize(static_cast<size_t>(nnames));
  for (uint64_t i = 0; i < nnames; ++i) {
    uint64_t len = 0;
    s = r.read(len, "name length");
    if (s.is_ok() && len > r.left())
      s = invalid_model("truncated: name length " + std::to_string(len) + " at byte " + std::to_string(r.pos()) +
                        ", only " + std::to_string(r.left()) + " bytes left");
    if (s.is_ok()) {
      list.names[i].resize(static_cast<size_t>(len));
      s = r.read_bytes(list.names[i].data(), static_cast<size_t>(len), "name");
    }
    if (!s.is_ok()) return fail(std::move(s).with_context("name " + std::to_string(i)));
  }
  if (r.left() != 0)
    return fail(invalid_model(std::to_string(r.left()) + " unexpected trailing bytes after the names"));

  std::string versions;
  for (int v = 3; v >= 0; --v)
    if (counts.versions[v]) versions += (versions.empty() ? "" : ", ") + std::to_string(counts.versions[v]) + " V" + std::to_string(v);
  if (!versions.empty()) list.notes.push_back("NDArray records: " + versions);
  auto conv = [&](int n, const char* from) {
    if (n) list.notes.push_back("converted " + std::to_string(n) + " " + from + " arrays to float32");
  };
  conv(counts.f64, "float64");
  conv(counts.f16, "float16");
  conv(counts.bf16, "bfloat16");
  if (counts.none) list.notes.push_back(std::to_string(counts.none) + " arrays have no shape (none)");
  return list;
}

Result<NDArrayList> load_ndarray_list(const std::string& path) {
  ANVIL_ASSIGN_OR_RETURN(const MappedFile bytes, map_file_bytes(path));
  return parse_ndarray_list(bytes.view(), path);
}

Result<std::string> serialize_ndarray_list(const NDArrayList& list) {
  if (!list.names.empty() && list.names.size() != list.arrays.size())
    return invalid_argument("NDArray list has " + std::to_string(list.arrays.size()) + " arrays but " +
                            std::to_string(list.names.size()) + " names");
  std::string out;
  auto put = [&](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(kNDArrayListMagic);
  put(uint64_t{0});
  put(static_cast<uint64_t>(list.arrays.size()));
  for (size_t i = 0; i < list.arrays.size(); ++i) {
    const Tensor& t = list.arrays[i];
    put(kNDArrayV2Magic);
    put(int32_t{0});  // dense
    if (!t.defined()) {
      put(uint32_t{0});  // ndim 0: "none", nothing follows
      continue;
    }
    const int32_t flag = type_flag_of(t.dtype());
    if (flag < 0) return invalid_argument(std::string("dtype ") + dtype_name(t.dtype()) + " has no MXNet type");
    if (t.rank() == 0) {
      // V2 has no scalars (ndim 0 means "none"): a scalar is written as [1].
      put(uint32_t{1});
      put(int64_t{1});
    } else {
      put(static_cast<uint32_t>(t.rank()));
      for (int64_t d : t.shape().dims()) put(d);
    }
    put(int32_t{1});  // cpu
    put(int32_t{0});
    put(flag);
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  put(static_cast<uint64_t>(list.names.size()));
  for (const std::string& n : list.names) {
    put(static_cast<uint64_t>(n.size()));
    out += n;
  }
  return out;
}

Status save_ndarray_list(const std::string& path, const NDArrayList& list) {
  ANVIL_ASSIGN_OR_RETURN(std::string bytes, serialize_ndarray_list(list));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return io_error(path + ": cannot create file (" + std::strerror(errno) + ")");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return io_error(path + ": write failed");
  return Status::ok();
}

}  // namespace anvil::mxnet
