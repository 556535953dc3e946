// read_file_bytes and map_file_bytes (core/file_bytes.h), the importers'
// file readers: a regular file's exact bytes (embedded NULs included), a
// pipe read to its end, and the errors (a directory, a missing file)
// naming the path.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/file_bytes.h"

namespace anvil {
namespace {

std::filesystem::path scratch_dir() {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "anvil_test_file_bytes";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(FileBytes, RegularFileExactly) {
  std::mt19937 rng(5);
  for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{1} << 20}) {
    std::string want(n, '\0');
    for (char& c : want) c = static_cast<char>(rng());
    const std::string path = (scratch_dir() / ("f" + std::to_string(n))).string();
    std::ofstream(path, std::ios::binary).write(want.data(), static_cast<std::streamsize>(n));
    auto got = read_file_bytes(path);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(*got, want) << n << " bytes";
  }
}

TEST(FileBytes, PipeToItsEnd) {
  const std::string path = (scratch_dir() / "fifo").string();
  std::filesystem::remove(path);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  const std::string want(100000, 'x');
  std::thread writer([&] { std::ofstream(path, std::ios::binary) << want; });
  auto got = read_file_bytes(path);
  writer.join();
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->size(), want.size());
  EXPECT_EQ(*got, want);
}

TEST(FileBytes, ErrorsNameThePath) {
  auto dir = read_file_bytes(scratch_dir().string());
  ASSERT_FALSE(dir.is_ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dir.status().message().find("a directory"), std::string::npos) << dir.status().message();
  EXPECT_NE(dir.status().message().find(scratch_dir().string()), std::string::npos);
  const std::string missing = (scratch_dir() / "no-such-file").string();
  auto none = read_file_bytes(missing);
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find(missing), std::string::npos) << none.status().message();
}

TEST(FileBytes, MappedRegularFileExactly) {
  std::mt19937 rng(6);
  for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{3} << 20}) {
    std::string want(n, '\0');
    for (char& c : want) c = static_cast<char>(rng());
    const std::string path = (scratch_dir() / ("m" + std::to_string(n))).string();
    std::ofstream(path, std::ios::binary).write(want.data(), static_cast<std::streamsize>(n));
    auto got = map_file_bytes(path);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_EQ(got->size(), n);
    EXPECT_EQ(got->view(), want) << n << " bytes";
    MappedFile moved = std::move(got).value();  // the mapping moves with it
    EXPECT_EQ(moved.view(), want);
    moved = MappedFile();
    EXPECT_EQ(moved.size(), 0u);
  }
}

TEST(FileBytes, MappedPipeIsReadToItsEnd) {
  const std::string path = (scratch_dir() / "fifo2").string();
  std::filesystem::remove(path);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  const std::string want(100000, 'y');
  std::thread writer([&] { std::ofstream(path, std::ios::binary) << want; });
  auto got = map_file_bytes(path);
  writer.join();
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->view(), want);
}

TEST(FileBytes, MappedErrorsNameThePath) {
  auto dir = map_file_bytes(scratch_dir().string());
  ASSERT_FALSE(dir.is_ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dir.status().message().find(scratch_dir().string()), std::string::npos);
  const std::string missing = (scratch_dir() / "no-such-file").string();
  auto none = map_file_bytes(missing);
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find(missing), std::string::npos) << none.status().message();
}

}  // namespace
}  // namespace anvil
