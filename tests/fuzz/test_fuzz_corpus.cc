// Replays the fuzz targets' seed corpora (fuzz/corpus/TARGET/) and every
// input a fuzzer ever crashed on (fuzz/regressions/TARGET/) through the same
// entry points the libFuzzer binaries use (fuzz/entries.h). A regression
// shows as a crash or sanitizer report here, in `make test` and
// `make test-asan`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/entries.h"
#include "test_paths.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> r;
  if (!fs::is_directory(dir)) return r;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') r.push_back(e.path());
  std::sort(r.begin(), r.end());
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(FuzzCorpus, EverySeedAndRegressionInputIsHandled) {
  const fs::path root = fs::path(ANVIL_SOURCE_DIR) / "fuzz";
  for (const fuzz::Target& t : fuzz::targets()) {
    SCOPED_TRACE(t.name);
    const auto seeds = files_in(root / "corpus" / t.name);
    EXPECT_FALSE(seeds.empty()) << "no seed corpus in fuzz/corpus/" << t.name;
    auto all = seeds;
    for (const fs::path& p : files_in(root / "regressions" / t.name)) all.push_back(p);
    for (const fs::path& p : all) {
      SCOPED_TRACE(p.string());
      const std::string b = read_file(p);
      EXPECT_EQ(t.fn(reinterpret_cast<const uint8_t*>(b.data()), b.size()), 0);
      // Every prefix class the fuzzer starts from: empty, one byte, cut.
      EXPECT_EQ(t.fn(reinterpret_cast<const uint8_t*>(b.data()), b.size() / 2), 0);
    }
    EXPECT_EQ(t.fn(nullptr, 0), 0);
  }
}

}  // namespace
}  // namespace anvil
