#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/npy.h"

namespace anvil {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("anvil_npy_" + name)).string();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A tensor whose bytes follow a pattern that differs per element.
Tensor patterned(DType dt, Shape s) {
  Tensor t(dt, std::move(s));
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(i * 37 + 11);
  if (dt == DType::kBool)
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  return t;
}

// Hand-built .npy bytes, for inputs numpy would never write.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  std::string header = dict + "\n";
  const size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major >= 2) out += std::string(2, '\0');
  return out + header + data;
}

void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.nbytes(), b.nbytes());
  if (a.nbytes()) {
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  }
}

class NpyRoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(NpyRoundTrip, InMemoryAndFile) {
  const DType dt = GetParam();
  for (const Shape& s : {Shape{2, 3, 5}, Shape{7}, Shape{}, Shape{0, 4}}) {
    SCOPED_TRACE(std::string(dtype_name(dt)) + "[" + s.str() + "]");
    const Tensor t = patterned(dt, s);
    auto bytes = serialize_npy(t);
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
    EXPECT_EQ((bytes->size() - t.nbytes()) % 64, 0u) << "the data should start on a 64-byte boundary";
    auto back = parse_npy(*bytes, "mem");
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    expect_same(t, *back);

    const std::string path = temp_path(std::string(dtype_name(dt)) + ".npy");
    ASSERT_TRUE(write_npy(path, t).is_ok());
    auto file = read_npy(path);
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    expect_same(t, *file);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, NpyRoundTrip,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kF64, DType::kI8, DType::kU8,
                                           DType::kI32, DType::kI64, DType::kBool),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Npy, HeaderIsWhatNumpyWrites) {
  auto bytes = serialize_npy(Tensor::from_vector<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  ASSERT_TRUE(bytes.is_ok());
  const std::string& b = *bytes;
  ASSERT_EQ(b.size(), 128u + 24u);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8), 118);
  EXPECT_EQ(b.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 10u);
  EXPECT_EQ(b[127], '\n');
  auto one_d = serialize_npy(Tensor::from_vector<int64_t>(Shape{3}, {1, 2, 3}));
  EXPECT_NE(one_d->find("'shape': (3,)"), std::string::npos);
  auto u8 = serialize_npy(Tensor::from_vector<uint8_t>(Shape{1}, {1}));
  EXPECT_NE(u8->find("'descr': '|u1'"), std::string::npos);
}

TEST(Npy, AcceptsOtherSpellingsAndVersions) {
  const std::string data(8, '\x01');
  // Double quotes, key order, no trailing comma, extra spaces, '=' byte order.
  auto a = parse_npy(npy_bytes(R"({"shape": (2,), "fortran_order": False, "descr": "=i4"})", data), "a");
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->dtype(), DType::kI32);
  EXPECT_EQ(a->shape(), (Shape{2}));
  for (int major : {2, 3}) {
    auto b = parse_npy(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", data, major), "b");
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    EXPECT_EQ(b->dtype(), DType::kF64);
  }
  // One-byte types have no byte order.
  auto c = parse_npy(npy_bytes("{'descr': '>u1', 'fortran_order': False, 'shape': (8,), }", data), "c");
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
}

TEST(Npy, BoolsAreNormalised) {
  auto t = parse_npy(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x00\x02\x01", 3)), "b");
  ASSERT_TRUE(t.is_ok());
  const auto* p = static_cast<const uint8_t*>(t->raw());
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[1], 1);
  EXPECT_EQ(p[2], 1);
}

struct BadCase {
  const char* label;
  std::string bytes;
  StatusCode code;
  const char* message_part;
};

TEST(Npy, BadFilesFailWithAClearMessage) {
  const std::string f4x6 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string data(24, '\0');
  std::string huge_len = npy_bytes(f4x6, data, 2);
  huge_len[8] = '\xff';
  huge_len[9] = '\xff';
  huge_len[10] = '\xff';
  huge_len[11] = '\x7f';
  const BadCase cases[] = {
      {"empty", "", StatusCode::kInvalidArgument, "bad magic"},
      {"bad magic", "PK\x03\x04 not numpy at all", StatusCode::kInvalidArgument, "bad magic"},
      {"short preamble", "\x93NUMPY\x01", StatusCode::kInvalidArgument, "truncated .npy preamble"},
      {"version 4", npy_bytes(f4x6, data, 4), StatusCode::kUnsupported, "version 4"},
      {"truncated data", npy_bytes(f4x6, data.substr(0, 20)), StatusCode::kInvalidArgument, "truncated data"},
      {"trailing bytes", npy_bytes(f4x6, data + "xx"), StatusCode::kInvalidArgument, "26 bytes follow"},
      {"truncated header", npy_bytes(f4x6, "").substr(0, 30), StatusCode::kInvalidArgument, "truncated header"},
      {"huge header length", huge_len, StatusCode::kInvalidArgument, "exceeds the limit"},
      {"fortran order", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data),
       StatusCode::kUnsupported, "Fortran"},
      {"big endian", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data),
       StatusCode::kUnsupported, "big-endian"},
      {"complex", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", data),
       StatusCode::kUnsupported, "'<c8' is not supported"},
      {"structured", npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", data),
       StatusCode::kUnsupported, "structured"},
      {"missing shape", npy_bytes("{'descr': '<f4', 'fortran_order': False, }", data), StatusCode::kInvalidArgument,
       "missing key 'shape'"},
      {"unknown key", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", data),
       StatusCode::kInvalidArgument, "unexpected key 'x'"},
      {"negative dim", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", data),
       StatusCode::kInvalidArgument, "non-negative integer"},
      {"garbage header", npy_bytes("not a dict", data), StatusCode::kInvalidArgument, "malformed header"},
      {"unterminated", npy_bytes("{'descr': '<f4", data), StatusCode::kInvalidArgument, "unterminated string"},
      {"overflowing shape",
       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4503599627370496, 4503599627370496), }", data),
       StatusCode::kInvalidArgument, "too large"},
      {"dim too large", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", data),
       StatusCode::kInvalidArgument, "too large"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto mem = parse_npy(c.bytes, "case.npy");
    ASSERT_FALSE(mem.is_ok());
    EXPECT_EQ(mem.status().code(), c.code) << mem.status().to_string();
    EXPECT_NE(mem.status().message().find("case.npy: "), std::string::npos) << mem.status().message();
    EXPECT_NE(mem.status().message().find(c.message_part), std::string::npos) << mem.status().message();

    const std::string path = temp_path("bad.npy");
    write_file(path, c.bytes);
    auto file = read_npy(path);
    ASSERT_FALSE(file.is_ok());
    EXPECT_EQ(file.status().code(), c.code) << file.status().to_string();
    EXPECT_NE(file.status().message().find(path), std::string::npos) << file.status().message();
    EXPECT_NE(file.status().message().find(c.message_part), std::string::npos) << file.status().message();
  }
}

TEST(Npy, MissingFileAndDirectory) {
  auto r = read_npy(temp_path("does_not_exist.npy"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("does_not_exist.npy"), std::string::npos);
  auto d = read_npy(::testing::TempDir());
  ASSERT_FALSE(d.is_ok());
  EXPECT_NE(d.status().message().find("not a regular file"), std::string::npos);
  Status w = write_npy(temp_path("no_such_dir/x.npy"), Tensor::scalar<float>(1.f));
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(w.message().find("no_such_dir"), std::string::npos);
}

TEST(Npy, Bf16HasNoNumpyDtype) {
  auto r = serialize_npy(Tensor(DType::kBF16, Shape{2}));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace anvil
