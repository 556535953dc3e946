#include "core/npy.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

namespace anvil {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy itself refuses headers over 10000 bytes by default; plain arrays
// need well under 1 KiB, so anything near this limit is garbage.
constexpr size_t kMaxHeaderLen = 1 << 20;

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

struct NpyType {
  const char* code;  // kind + item size, as in the descr string
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {"f4", DType::kF32}, {"f2", DType::kF16}, {"f8", DType::kF64}, {"i1", DType::kI8},
    {"u1", DType::kU8},  {"i4", DType::kI32}, {"i8", DType::kI64}, {"b1", DType::kBool},
};

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "'";
}

uint64_t read_le(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Where the header dictionary lies, from the fixed-size preamble.
struct Preamble {
  int major = 0;
  size_t header_start = 0;
  size_t header_len = 0;
};

// `prefix` is the start of the file (at most 12 bytes are looked at).
Result<Preamble> parse_preamble(std::string_view prefix, uint64_t file_size) {
  if (prefix.size() < kMagicLen || std::memcmp(prefix.data(), kMagic, kMagicLen) != 0) {
    std::string got = quoted(prefix.substr(0, kMagicLen));
    return invalid_argument("not a .npy file: bad magic " + got + " (expected '\\x93NUMPY')");
  }
  if (prefix.size() < kMagicLen + 2) return invalid_argument("truncated .npy preamble (" + std::to_string(prefix.size()) + " bytes)");
  Preamble p;
  p.major = static_cast<unsigned char>(prefix[6]);
  const int minor = static_cast<unsigned char>(prefix[7]);
  size_t len_bytes;
  if (p.major == 1) {
    len_bytes = 2;
  } else if (p.major == 2 || p.major == 3) {
    len_bytes = 4;
  } else {
    return unsupported(".npy format version " + std::to_string(p.major) + "." + std::to_string(minor) +
                       " is not supported (1.0, 2.0 and 3.0 are)");
  }
  if (prefix.size() < kMagicLen + 2 + len_bytes)
    return invalid_argument("truncated .npy preamble (" + std::to_string(prefix.size()) + " bytes)");
  p.header_start = kMagicLen + 2 + len_bytes;
  p.header_len = static_cast<size_t>(read_le(prefix.data() + kMagicLen + 2, len_bytes));
  if (p.header_len > kMaxHeaderLen)
    return invalid_argument("header length " + std::to_string(p.header_len) + " exceeds the limit of " +
                            std::to_string(kMaxHeaderLen) + " bytes");
  if (p.header_start + p.header_len > file_size)
    return invalid_argument("truncated header: declares " + std::to_string(p.header_len) + " bytes but the file has " +
                            std::to_string(file_size) + " bytes in all");
  return p;
}

// A reader for the Python dict literal numpy writes, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". Only the
// value kinds numpy uses there are accepted: strings, booleans, int tuples.
class DictParser {
 public:
  explicit DictParser(std::string_view s) : s_(s) {}

  Status parse(DType& dtype, Shape& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    if (!eat('{')) return error("expected '{'");
    for (;;) {
      skip_ws();
      if (eat('}')) break;
      std::string key;
      ANVIL_TRY(string_literal(key));
      skip_ws();
      if (!eat(':')) return error("expected ':' after key " + quoted(key));
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') return unsupported("structured dtypes (descr is a list) are not supported");
        std::string descr;
        ANVIL_TRY(string_literal(descr));
        ANVIL_TRY(decode_descr(descr, dtype));
        have_descr = true;
      } else if (key == "fortran_order") {
        bool fortran = false;
        ANVIL_TRY(boolean(fortran));
        if (fortran)
          return unsupported("Fortran-order (column-major) arrays are not supported; save with "
                             "np.ascontiguousarray first");
        have_order = true;
      } else if (key == "shape") {
        ANVIL_TRY(int_tuple(shape));
        have_shape = true;
      } else {
        return error("unexpected key " + quoted(key));
      }
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat('}')) break;
      return error("expected ',' or '}'");
    }
    skip_ws();
    if (i_ != s_.size()) return error("unexpected text after the dictionary");
    if (!have_descr) return error("missing key 'descr'");
    if (!have_order) return error("missing key 'fortran_order'");
    if (!have_shape) return error("missing key 'shape'");
    return Status::ok();
  }

 private:
  Status error(const std::string& what) const {
    return invalid_argument("malformed header at offset " + std::to_string(i_) + ": " + what + " in " +
                            quoted(s_.substr(0, 200)));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  Status string_literal(std::string& out) {
    const char q = peek();
    if (q != '\'' && q != '"') return error("expected a quoted string");
    ++i_;
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') return error("escape sequences are not supported");
      ++i_;
    }
    if (i_ >= s_.size()) return error("unterminated string");
    out.assign(s_.substr(start, i_ - start));
    ++i_;
    return Status::ok();
  }

  Status boolean(bool& out) {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      out = true;
    } else if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      out = false;
    } else {
      return error("expected True or False");
    }
    return Status::ok();
  }

  Status int_tuple(Shape& shape) {
    if (!eat('(')) return error("expected '(' starting the shape tuple");
    std::vector<int64_t> dims;
    for (;;) {
      skip_ws();
      if (eat(')')) break;
      if (peek() < '0' || peek() > '9') return error("expected a non-negative integer in the shape");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_C(1) << 52)) return error("shape dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      eat('L');  // Python 2 longs
      dims.push_back(v);
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat(')')) break;
      return error("expected ',' or ')' in the shape tuple");
    }
    shape = Shape(std::move(dims));
    return Status::ok();
  }

  static Status decode_descr(const std::string& descr, DType& dtype) {
    std::string_view d = descr;
    char order = '|';
    if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
      order = d[0];
      d.remove_prefix(1);
    }
    for (const NpyType& t : kTypes) {
      if (d != t.code) continue;
      if (order == '>' && dtype_size(t.dtype) > 1)
        return unsupported("big-endian data (dtype " + quoted(descr) +
                           ") is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))");
      dtype = t.dtype;
      return Status::ok();
    }
    std::string list;
    for (const NpyType& t : kTypes) list += std::string(list.empty() ? "" : " ") + t.code;
    return unsupported("dtype " + quoted(descr) + " is not supported (supported: " + list + ")");
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Data byte count for `shape`, or an error when it overflows.
Result<uint64_t> data_bytes(DType dtype, const Shape& shape) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape.dims()) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      return invalid_argument("shape (" + shape.str() + ") is too large");
  }
  return n;
}

struct Decoded {
  DType dtype = DType::kF32;
  Shape shape;
  size_t data_offset = 0;
};

// `head` holds the file from its start at least through the header.
Result<Decoded> decode_header(std::string_view head, uint64_t file_size) {
  ANVIL_ASSIGN_OR_RETURN(Preamble p, parse_preamble(head, file_size));
  Decoded d;
  ANVIL_TRY(DictParser(head.substr(p.header_start, p.header_len)).parse(d.dtype, d.shape));
  d.data_offset = p.header_start + p.header_len;
  ANVIL_ASSIGN_OR_RETURN(uint64_t need, data_bytes(d.dtype, d.shape));
  const uint64_t have = file_size - d.data_offset;
  const std::string what = std::string(dtype_name(d.dtype)) + "[" + d.shape.str() + "]";
  if (have < need)
    return invalid_argument("truncated data: the header declares " + what + " (" + std::to_string(need) +
                            " bytes) but only " + std::to_string(have) + " bytes follow it");
  if (have > need)
    return invalid_argument("the header declares " + what + " (" + std::to_string(need) + " bytes) but " +
                            std::to_string(have) + " bytes follow it");
  return d;
}

// numpy stores bools as bytes; anything but 0 is true, and anvil keeps 0/1.
void normalize_bools(Tensor& t) {
  if (t.dtype() != DType::kBool) return;
  uint8_t* p = static_cast<uint8_t*>(t.raw());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] ? 1 : 0;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

Status errno_status(const std::string& what) {
  const int e = errno;
  std::string msg = what + ": " + std::strerror(e);
  return e == ENOENT ? not_found(msg) : io_error(msg);
}

// A short read of a file whose size was checked first means it changed
// underneath us or a device error; errno tells which only in the latter case.
Status read_exact(FILE* f, void* dst, size_t n, const std::string& path) {
  if (n == 0 || std::fread(dst, 1, n, f) == n) return Status::ok();
  if (std::ferror(f)) return errno_status("cannot read '" + path + "'");
  return io_error("'" + path + "' ended early (was it modified while being read?)");
}

Result<std::string> make_header(const Tensor& t) {
  const char* code = nullptr;
  for (const NpyType& nt : kTypes)
    if (nt.dtype == t.dtype()) code = nt.code;
  if (!code) return unsupported(std::string("dtype ") + dtype_name(t.dtype()) + " has no .npy equivalent");
  if (t.numel() > 0 && t.raw() == nullptr) return invalid_argument("tensor " + t.desc() + " has no data");
  const char order = dtype_size(t.dtype()) == 1 ? '|' : '<';
  std::string dict = std::string("{'descr': '") + order + code + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.rank(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(t.dim(i));
  }
  if (t.rank() == 1) dict += ",";
  dict += "), }";
  // numpy pads with spaces so the data starts on a 64-byte boundary and
  // ends the header with a newline.
  auto build = [&](int major) {
    const size_t len_bytes = major == 1 ? 2 : 4;
    const size_t pre = kMagicLen + 2 + len_bytes;
    const size_t total = (pre + dict.size() + 1 + 63) / 64 * 64;
    const size_t hlen = total - pre;
    std::string out(kMagic, kMagicLen);
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((hlen >> (8 * i)) & 0xff);
    out += dict;
    out.append(hlen - dict.size() - 1, ' ');
    out += '\n';
    return out;
  };
  std::string h = build(1);
  if (h.size() - 10 > 0xffff) h = build(2);
  return h;
}

}  // namespace

Result<Tensor> parse_npy(const std::string& bytes, const std::string& name_for_errors) {
  auto decoded = decode_header(bytes, bytes.size());
  if (!decoded) return decoded.status().with_context(name_for_errors);
  Tensor t(decoded->dtype, decoded->shape);
  if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + decoded->data_offset, t.nbytes());
  normalize_bools(t);
  return t;
}

Result<Tensor> read_npy(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_status("cannot open '" + path + "'");
  if (!S_ISREG(st.st_mode)) return invalid_argument("'" + path + "' is not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return errno_status("cannot open '" + path + "'");

  // Read the preamble, then exactly the header it announces, then the data
  // straight into the tensor.
  std::string head(std::min<uint64_t>(size, kMagicLen + 2 + 4), '\0');
  ANVIL_TRY(read_exact(f.get(), head.data(), head.size(), path));
  auto pre = parse_preamble(head, size);
  if (!pre) return pre.status().with_context(path);
  const size_t head_end = pre->header_start + pre->header_len;
  const size_t had = head.size();
  head.resize(head_end);
  if (head_end > had) {
    ANVIL_TRY(read_exact(f.get(), head.data() + had, head_end - had, path));
  } else if (std::fseek(f.get(), static_cast<long>(head_end), SEEK_SET) != 0) {
    return errno_status("cannot seek in '" + path + "'");
  }
  auto decoded = decode_header(head, size);
  if (!decoded) return decoded.status().with_context(path);

  Tensor t(decoded->dtype, decoded->shape);
  ANVIL_TRY(read_exact(f.get(), t.raw(), t.nbytes(), path));
  normalize_bools(t);
  return t;
}

Result<std::string> serialize_npy(const Tensor& t) {
  ANVIL_ASSIGN_OR_RETURN(std::string out, make_header(t));
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Status write_npy(const std::string& path, const Tensor& t) {
  auto header = make_header(t);
  if (!header) return header.status().with_context(path);
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) return errno_status("cannot create '" + path + "'");
  if (std::fwrite(header->data(), 1, header->size(), f.get()) != header->size() ||
      (t.nbytes() && std::fwrite(t.raw(), 1, t.nbytes(), f.get()) != t.nbytes()))
    return errno_status("cannot write '" + path + "'");
  if (std::fclose(f.release()) != 0) return errno_status("cannot write '" + path + "'");
  return Status::ok();
}

}  // namespace anvil
