// Hand-made hostile inputs (tests/bad_inputs/files, written by
// make_cases.py) through the public entry points: every one must fail with
// the StatusCode and message written beside it in cases.tsv, never crash,
// hang or allocate its declared size. The CLI replays the same table in a
// fresh process (run_cli.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "anvil/anvil.h"
#include "anvil/npy.h"
#include "server/protocol.h"
#include "test_paths.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string file, stage, code, message;
};

fs::path dir() { return fs::path(ANVIL_SOURCE_DIR) / "tests" / "bad_inputs"; }

std::vector<Case> read_cases() {
  std::vector<Case> r;
  std::ifstream f(dir() / "cases.tsv");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() != 4) {
      ADD_FAILURE() << "cases.tsv: expected 4 tab-separated columns: " << line;
      continue;
    }
    r.push_back({cols[0], cols[1], cols[2], cols[3]});
  }
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The Status the case's stage ends with; ok if nothing failed.
Status run_case(const Case& c) {
  const std::string path = (dir() / "files" / c.file).string();
  if (c.stage == "npy") return read_npy(path).status();
  if (c.stage == "request") {
    const std::string body = slurp(path);
    auto req = serve::parse_infer_request(body);
    if (!req) return req.status();
    serve::ModelSignature sig;
    sig.inputs = {{"input", DType::kF32, Shape{-1, 3, 2, 2}}};
    sig.outputs = {{"output", DType::kF32, Shape{-1, 3, 2, 2}}};
    sig.max_batch = 4;
    return serve::check_request(*req, sig).status();
  }
  auto m = Model::load(path);
  if (c.stage == "load" || !m) return m.status();
  if (c.stage == "compile") return m->compile({.threads = 1}).status();
  return internal_error("cases.tsv: unknown stage '" + c.stage + "'");
}

TEST(BadInputs, EachFailsWithItsWrittenError) {
  const auto cases = read_cases();
  ASSERT_GE(cases.size(), 30u) << "cases.tsv is missing or short (run tests/bad_inputs/make_cases.py)";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " [" + c.stage + "]");
    const Status s = run_case(c);
    ASSERT_FALSE(s.is_ok()) << "accepted a hostile input";
    EXPECT_EQ(status_code_name(s.code()), c.code) << s.message();
    EXPECT_NE(s.message().find(c.message), std::string::npos)
        << "message lacks '" << c.message << "':\n  " << s.message();
    // A model error names the file it came from.
    if (c.stage == "load" || c.stage == "compile")
      EXPECT_NE(s.message().find(fs::path(c.file).stem().string().substr(0, 6)), std::string::npos) << s.message();
  }
}

// The memory limit is the caller's to set: the same model compiles once the
// limit allows it, and an explicit small limit refuses a normal model.
TEST(BadInputs, MemoryLimitIsConfigurable) {
  auto small = Model::load((dir() / "files" / "good_relu_64x8x8.onnx").string());
  ASSERT_TRUE(small) << small.status().to_string();
  CompileOptions o;
  o.threads = 1;
  o.memory_limit = int64_t{1} << 20;
  // 64*8*8*4 = 16 KiB in, 16 KiB out: fits in 1 MiB, not in 20 KiB.
  EXPECT_TRUE(small->compile(o)) << "1 MiB should hold 32 KiB of activations";
  o.memory_limit = 20 << 10;
  auto refused = small->compile(o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(refused.status().message().find("the memory limit is 20.0 KiB (CompileOptions::memory_limit"),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("needs at least 32.0 KiB"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace anvil
