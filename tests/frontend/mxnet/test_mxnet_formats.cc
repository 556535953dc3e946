// MXNet .params (NDArray list) and symbol JSON: fixtures, round trips, and
// hostile inputs (each a clear error, no crash, no huge allocation).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "anvil/anvil.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/mxnet/params.h"
#include "frontend/mxnet/symbol.h"
#include "runtime/executor.h"
#include "test_paths.h"

namespace anvil::mxnet {
namespace {

std::string fixtures() { return testing::shared_models_dir() + "/mxnet/format-fixtures"; }

// Little-endian byte builder for hand-made files.
struct Bytes {
  std::string s;
  template <class T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& header(uint64_t count) { return put(kNDArrayListMagic).put(uint64_t{0}).put(count); }
  Bytes& f32s(std::initializer_list<float> v) {
    for (float x : v) put(x);
    return *this;
  }
  Bytes& no_names() { return put(uint64_t{0}); }
  Bytes& names(std::initializer_list<std::string> v) {
    put(static_cast<uint64_t>(v.size()));
    for (const std::string& n : v) put(static_cast<uint64_t>(n.size())), s += n;
    return *this;
  }
};

Status parse_status(const std::string& b) {
  auto r = parse_ndarray_list(b, "test.params");
  return r.status();
}

void expect_error(const std::string& b, const std::string& fragment) {
  auto r = parse_ndarray_list(b, "test.params");
  ASSERT_FALSE(r) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("test.params"), std::string::npos) << r.status().message();
}

TEST(MxParams, LegacyV0FixtureHoldsSixAranges) {
  ANVIL_REQUIRE_SHARED_MODELS();
  auto r = load_ndarray_list(fixtures() + "/legacy_ndarray.v0");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_TRUE(r->names.empty());
  ASSERT_EQ(r->arrays.size(), 6u);
  for (const Tensor& t : r->arrays) {
    ASSERT_EQ(t.dtype(), DType::kF32);
    ASSERT_EQ(t.shape(), Shape({128}));
    for (int i = 0; i < 128; ++i) ASSERT_EQ(t.data<float>()[i], static_cast<float>(i));
  }
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes[0].find("6 V0"), std::string::npos) << r->notes[0];
}

TEST(MxParams, AllRecordVersions) {
  Bytes b;
  b.header(5);
  // V0: u32 ndim, u32 dims, context, type flag.
  b.put(uint32_t{2}).put(uint32_t{1}).put(uint32_t{2}).put(int32_t{1}).put(int32_t{0}).put(int32_t{0}).f32s({1, 2});
  // V1: magic, u32 ndim + i64 dims, context, type flag (f64 -> f32).
  b.put(kNDArrayV1Magic).put(uint32_t{1}).put(int64_t{2}).put(int32_t{1}).put(int32_t{0}).put(int32_t{1});
  b.put(3.5).put(-4.25);
  // V2: magic, stype, shape, context, type flag (i32 kept).
  b.put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1}).put(int64_t{3}).put(int32_t{1}).put(int32_t{0}).put(int32_t{4});
  b.put(int32_t{7}).put(int32_t{-8}).put(int32_t{9});
  // V3: a scalar (ndim 0), f16 -> f32.
  b.put(kNDArrayV3Magic).put(int32_t{0}).put(uint32_t{0}).put(int32_t{1}).put(int32_t{0}).put(int32_t{2}).put(uint16_t{0x3C00});
  // V3 "none" (ndim -1): nothing follows.
  b.put(kNDArrayV3Magic).put(int32_t{0}).put(int32_t{-1});
  b.names({"arg:a", "aux:b", "c", "arg:d", "arg:e"});
  auto r = parse_ndarray_list(b.s, "mixed.params");
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->arrays.size(), 5u);
  EXPECT_EQ(r->arrays[0].shape(), Shape({1, 2}));
  EXPECT_EQ(r->arrays[0].data<float>()[1], 2.0f);
  EXPECT_EQ(r->arrays[1].dtype(), DType::kF32);
  EXPECT_EQ(r->arrays[1].data<float>()[1], -4.25f);
  EXPECT_EQ(r->arrays[2].dtype(), DType::kI32);
  EXPECT_EQ(r->arrays[2].data<int32_t>()[1], -8);
  EXPECT_EQ(r->arrays[3].rank(), 0u);
  EXPECT_EQ(r->arrays[3].data<float>()[0], 1.0f);
  EXPECT_FALSE(r->arrays[4].defined());
  EXPECT_EQ(r->names[1], "aux:b");
}

TEST(MxParams, RoundTripV2) {
  NDArrayList l;
  l.names = {"arg:w", "arg:i", "aux:u", "arg:s"};
  l.arrays = {Tensor::from_vector<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}),
              Tensor::from_vector<int64_t>(Shape{2}, {-5, 1LL << 40}), Tensor::from_vector<uint8_t>(Shape{1}, {200}),
              Tensor::scalar<float>(2.5f)};
  auto bytes = serialize_ndarray_list(l);
  ASSERT_TRUE(bytes);
  auto r = parse_ndarray_list(*bytes, "rt");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->names, l.names);
  EXPECT_EQ(r->arrays[0].shape(), Shape({2, 3}));
  EXPECT_EQ(r->arrays[0].data<float>()[5], 6.0f);
  EXPECT_EQ(r->arrays[1].data<int64_t>()[1], 1LL << 40);
  EXPECT_EQ(r->arrays[2].data<uint8_t>()[0], 200);
  EXPECT_EQ(r->arrays[3].shape(), Shape({1}));  // V2 has no scalars
  EXPECT_NE(r->notes[0].find("4 V2"), std::string::npos);
}

TEST(MxParams, EveryTruncationIsAnError) {
  NDArrayList l;
  l.names = {"arg:w", "aux:m"};
  l.arrays = {Tensor::from_vector<float>(Shape{2, 2}, {1, 2, 3, 4}), Tensor::from_vector<float>(Shape{1}, {5})};
  auto bytes = serialize_ndarray_list(l);
  ASSERT_TRUE(bytes);
  for (size_t n = 0; n < bytes->size(); ++n) {
    Status s = parse_status(bytes->substr(0, n));
    ASSERT_FALSE(s.is_ok()) << "cut at " << n;
    EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  }
  EXPECT_TRUE(parse_status(*bytes).is_ok());
  expect_error(*bytes + "x", "trailing");
}

TEST(MxParams, HostileHeaders) {
  expect_error(Bytes().put(uint64_t{0x113}).put(uint64_t{0}).put(uint64_t{0}).s, "header magic 0x113");
  expect_error("abc", "not an MXNet NDArray file");
  // A count that cannot fit in the file.
  expect_error(Bytes().header(1ULL << 60).s, "cannot fit");
  // Unknown record magic, too large to be a legacy ndim.
  expect_error(Bytes().header(1).put(uint32_t{0x12345678}).s, "unknown record magic 0x12345678");
  // Absurd ndim.
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1000}).s, "absurd ndim 1000");
  // Dims promising far more data than the file holds: refused before allocating.
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{2}).put(int64_t{1} << 30)
                   .put(int64_t{1} << 30).put(int32_t{1}).put(int32_t{0}).put(int32_t{0}).s,
               "needs 4611686018427387904 data bytes");
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{3}).put(int64_t{1} << 40)
                   .put(int64_t{1} << 40).put(int64_t{1} << 40).put(int32_t{1}).put(int32_t{0}).put(int32_t{0}).s,
               "overflows");
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1}).put(int64_t{-3}).s,
               "negative dimension");
  // Sparse storage.
  auto sparse = parse_ndarray_list(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{1}).s, "test.params");
  ASSERT_FALSE(sparse);
  EXPECT_EQ(sparse.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(sparse.status().message().find("row_sparse"), std::string::npos);
  // Unsupported dtype (int16).
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1}).put(int64_t{1})
                   .put(int32_t{1}).put(int32_t{0}).put(int32_t{8}).put(int16_t{1}).no_names().s,
               "int16");
  // Names count mismatch.
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1}).put(int64_t{1})
                   .put(int32_t{1}).put(int32_t{0}).put(int32_t{0}).f32s({1}).names({"a", "b"}).s,
               "1 arrays but 2 names");
  // A name longer than the file.
  EXPECT_TRUE(parse_status(Bytes().header(0).no_names().s).is_ok());
  expect_error(Bytes().header(1).put(kNDArrayV2Magic).put(int32_t{0}).put(uint32_t{1}).put(int64_t{1})
                   .put(int32_t{1}).put(int32_t{0}).put(int32_t{0}).f32s({1}).put(uint64_t{1}).put(uint64_t{1} << 50).s,
               "name length");
}

// --- symbol JSON --------------------------------------------------------------

TEST(MxSymbol, Legacy000800FixtureIsUpgraded) {
  ANVIL_REQUIRE_SHARED_MODELS();
  auto r = load_mx_symbol(fixtures() + "/save_000800.json");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_TRUE(r->legacy);
  ASSERT_EQ(r->nodes.size(), 19u);  // 17 + batchnorm0's moving_mean/moving_var
  const MxNode* bn = nullptr;
  for (const MxNode& n : r->nodes)
    if (n.name == "batchnorm0") bn = &n;
  ASSERT_NE(bn, nullptr);
  ASSERT_EQ(bn->inputs.size(), 5u);
  EXPECT_EQ(r->nodes[static_cast<size_t>(bn->inputs[3].node)].name, "batchnorm0_moving_mean");
  EXPECT_EQ(r->nodes[static_cast<size_t>(bn->inputs[4].node)].name, "batchnorm0_moving_var");
  EXPECT_EQ(bn->attrs.at("fix_gamma"), "True");
  EXPECT_EQ(r->nodes[0].attrs.at("__ctx_group__"), "stage1");
  EXPECT_EQ(r->nodes[0].attrs.at("__lr_mult__"), "0.2");
  EXPECT_EQ(r->nodes[3].attrs.at("num_hidden"), "128");
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->nodes[static_cast<size_t>(r->heads[0].node)].name, "softmax");
  EXPECT_EQ(r->arg_nodes.size(), 12u);
  EXPECT_EQ(r->topo_order.size(), 19u);
}

TEST(MxSymbol, Legacy000800ImportsAndRuns) {
  ANVIL_REQUIRE_SHARED_MODELS();
  auto sym = load_mx_symbol(fixtures() + "/save_000800.json");
  ASSERT_TRUE(sym);
  NDArrayList p;
  auto add = [&](const std::string& n, Shape s, float v) {
    Tensor t(DType::kF32, s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v * static_cast<float>(i % 7 - 3);
    p.names.push_back(n);
    p.arrays.push_back(t);
  };
  add("arg:fc1_weight", {128, 20}, 0.01f);
  add("arg:fc1_bias", {128}, 0.1f);
  add("arg:fc2_weight", {64, 128}, 0.01f);
  add("arg:fc2_bias", {64}, 0.1f);
  add("arg:fc3_weight", {10, 64}, 0.01f);
  add("arg:fc3_bias", {10}, 0.1f);
  add("arg:batchnorm0_gamma", {10}, 5.0f);
  add("arg:batchnorm0_beta", {10}, 0.1f);
  add("aux:batchnorm0_moving_mean", {10}, 0.0f);
  Tensor var(DType::kF32, Shape{10});
  for (int i = 0; i < 10; ++i) var.data<float>()[i] = 1.0f;
  p.names.push_back("aux:batchnorm0_moving_var");
  p.arrays.push_back(var);
  auto g = import_mxnet(*sym, p, "save_000800.json", "p.params", {.shapes = {{"data", {2, 20}}}});
  ASSERT_TRUE(g) << g.status().to_string();
  EXPECT_EQ(g->inputs.size(), 1u);  // softmax_label is a training label: dropped
  auto ex = Executor::create(*g);
  ASSERT_TRUE(ex) << ex.status().to_string();
  Tensor x(DType::kF32, Shape{2, 20});
  for (int i = 0; i < 40; ++i) x.data<float>()[i] = 0.05f * static_cast<float>(i % 9);
  std::vector<Tensor> out;
  ASSERT_TRUE((*ex)->run({x}, out).is_ok());
  ASSERT_EQ(out[0].shape(), Shape({2, 10}));
  EXPECT_EQ((*ex)->graph().value((*ex)->graph().outputs[0]).name, "softmax_output");
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int c = 0; c < 10; ++c) sum += out[0].data<float>()[r * 10 + c];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

Result<Graph> import_text(const std::string& json, const NDArrayList& p = {}, ImportOptions o = {}) {
  auto s = parse_mx_symbol(json, "t-symbol.json");
  if (!s) return s.status();
  return import_mxnet(*s, p, "t-symbol.json", "t-0000.params", o);
}

void expect_sym_error(const std::string& json, const std::string& fragment) {
  auto r = parse_mx_symbol(json, "t-symbol.json");
  ASSERT_FALSE(r) << fragment;
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("t-symbol.json"), std::string::npos) << r.status().message();
}

TEST(MxSymbol, HostileJson) {
  expect_sym_error("{\"nodes\": [", "not valid JSON");
  expect_sym_error("[1, 2]", "not a JSON object");
  expect_sym_error("{\"heads\": [[0,0,0]]}", "no \"nodes\" array");
  expect_sym_error(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []}]})J", "no \"heads\"");
  // Dangling input.
  expect_sym_error(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
                                  {"op": "relu", "name": "r", "inputs": [[7, 0, 0]]}], "heads": [[1, 0, 0]]})J",
                   "refers to node 7, but the symbol has 2 nodes (dangling input)");
  // Cycle: a -> b -> a.
  expect_sym_error(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
                                  {"op": "elemwise_add", "name": "a", "inputs": [[0, 0, 0], [2, 0, 0]]},
                                  {"op": "relu", "name": "b", "inputs": [[1, 0, 0]]}], "heads": [[2, 0, 0]]})J",
                   "cycle");
  // Self loop.
  expect_sym_error(R"J({"nodes": [{"op": "relu", "name": "s", "inputs": [[0, 0, 0]]}], "heads": [[0, 0, 0]]})J", "cycle");
  expect_sym_error(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[3, 0, 0]]})J",
                   "head refers to node 3");
  expect_sym_error(R"J({"nodes": [{"op": "relu", "name": "r", "inputs": [["a", 0]]}], "heads": [[0, 0, 0]]})J",
                   "non-integer");
  expect_sym_error(R"J({"nodes": [{"op": "null", "name": "x", "inputs": [[0, 0]]}], "heads": [[0, 0, 0]]})J",
                   "a variable cannot have inputs");
  expect_sym_error(R"J({"nodes": [{"name": "x", "inputs": []}], "heads": [[0, 0, 0]]})J", "no \"op\" string");
}

const char* kConvJson = R"J({"nodes": [
  {"op": "null", "name": "data", "inputs": []},
  {"op": "null", "name": "c_weight", "inputs": []},
  {"op": "null", "name": "c_bias", "inputs": []},
  {"op": "Convolution", "name": "c", "attrs": {"kernel": "(1, 1)", "num_filter": "2"},
   "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
  {"op": "Frobnicate", "name": "f", "inputs": [[3, 0, 0]]},
  {"op": "Frobnicate", "name": "f2", "inputs": [[4, 0, 0]]},
  {"op": "Wibble", "name": "w", "inputs": [[5, 0, 0]]}],
  "arg_nodes": [0, 1, 2], "heads": [[6, 0, 0]]})J";

TEST(MxImport, UnknownOpsAreListed) {
  NDArrayList p;
  p.names = {"arg:c_weight", "arg:c_bias"};
  p.arrays = {Tensor(DType::kF32, Shape{2, 3, 1, 1}), Tensor(DType::kF32, Shape{2})};
  auto g = import_text(kConvJson, p);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("Frobnicate (2 nodes, first 'f'); Wibble (1 node, first 'w')"),
            std::string::npos)
      << g.status().message();
}

const char* kSmallConv = R"J({"nodes": [
  {"op": "null", "name": "data", "inputs": []},
  {"op": "null", "name": "c_weight", "inputs": []},
  {"op": "null", "name": "c_bias", "inputs": []},
  {"op": "Convolution", "name": "c", "attrs": {"kernel": "(1, 1)", "num_filter": "2"},
   "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}],
  "arg_nodes": [0, 1, 2], "heads": [[3, 0, 0]]})J";

TEST(MxImport, MissingAndExtraParameters) {
  NDArrayList p;
  p.names = {"arg:c_weight", "arg:unused_1", "aux:unused_2"};
  p.arrays = {Tensor(DType::kF32, Shape{2, 3, 1, 1}), Tensor(DType::kF32, Shape{1}), Tensor(DType::kF32, Shape{1})};
  auto extra = import_text(kSmallConv, {{"arg:c_weight", "arg:c_bias", "arg:unused_1"},
                                        {p.arrays[0], Tensor(DType::kF32, Shape{2}), p.arrays[1]}});
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.status().message().find("does not use: unused_1"), std::string::npos) << extra.status().message();

  NDArrayList only_w;
  only_w.names = {"arg:c_weight"};
  only_w.arrays = {p.arrays[0]};
  auto missing = import_text(kSmallConv, only_w);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("missing from the params file: c_bias"), std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("--allow-missing"), std::string::npos);

  // allow_missing: zeros, with a warning; the shape comes from num_filter.
  auto ok = import_text(kSmallConv, only_w, {.shapes = {{"data", {1, 3, 2, 2}}}, .allow_missing = true});
  ASSERT_TRUE(ok) << ok.status().to_string();
  bool warned = false;
  for (const std::string& n : ok->notes) warned |= n.find("c_bias (2)") != std::string::npos;
  EXPECT_TRUE(warned);
  // Even the weight can be derived, from the bound data shape.
  auto none = import_text(kSmallConv, {}, {.shapes = {{"data", {1, 3, 2, 2}}}, .allow_missing = true});
  ASSERT_TRUE(none) << none.status().to_string();
  EXPECT_EQ(none->value(none->find_value("c_weight")).constant->shape(), Shape({2, 3, 1, 1}));

  auto unbound = import_text(kSmallConv, only_w, {.shapes = {{"dat", {1, 3, 2, 2}}}});
  ASSERT_FALSE(unbound);
  EXPECT_NE(unbound.status().message().find("not an input of the model (inputs: data)"), std::string::npos)
      << unbound.status().message();
}

TEST(MxImport, UnnamedParamsAreRejected) {
  NDArrayList p;
  p.arrays = {Tensor(DType::kF32, Shape{2})};
  auto g = import_text(kSmallConv, p);
  ASSERT_FALSE(g);
  EXPECT_NE(g.status().message().find("unnamed"), std::string::npos) << g.status().message();
}

TEST(MxImport, CheckpointPathForms) {
  const std::string dir = (std::filesystem::temp_directory_path() / "anvil_mx_paths").string();
  std::filesystem::create_directories(dir);
  const std::string prefix = dir + "/net";
  {
    std::ofstream(prefix + "-symbol.json") << kSmallConv;
  }
  NDArrayList p;
  p.names = {"arg:c_weight", "arg:c_bias"};
  p.arrays = {Tensor::from_vector<float>(Shape{2, 1, 1, 1}, {2, 3}), Tensor::from_vector<float>(Shape{2}, {1, -1})};
  ASSERT_TRUE(save_ndarray_list(prefix + "-0003.params", p).is_ok());
  const LoadOptions lo{.shapes = {{"data", {1, 1, 1, 2}}}, .epoch = 3};
  for (const std::string path : {prefix, prefix + "-symbol.json", prefix + "-0003.params"}) {
    auto m = Model::load(path, lo);
    ASSERT_TRUE(m) << path << ": " << m.status().to_string();
    auto s = m->compile();
    ASSERT_TRUE(s);
    auto out = s->run({{"data", Tensor::from_vector<float>(Shape{1, 1, 1, 2}, {1, 2})}});
    ASSERT_TRUE(out) << out.status().to_string();
    const Tensor& y = out->at("c_output");
    EXPECT_EQ(y.to_f32_vector(), (std::vector<float>{3, 5, 2, 5}));
  }
  auto wrong = Model::load(prefix, {.epoch = 1});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.status().message().find("available epochs: 0003"), std::string::npos) << wrong.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace anvil::mxnet
