#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "core/cpu.h"
#include "core/tensor_alloc.h"

namespace anvil {
namespace {

Result<int> half(int x) {
  if (x % 2) return invalid_argument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> quarter(int x) {
  ANVIL_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(Status, OkAndErrorsCarryCodeAndContext) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = unsupported("op 'Foo'").with_context("model.onnx");
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "model.onnx: op 'Foo'");
  EXPECT_EQ(s.to_string(), "unsupported: model.onnx: op 'Foo'");
}

TEST(Status, ResultPropagates) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
}

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_EQ(*dtype_from_name("i32"), DType::kI32);
  EXPECT_FALSE(dtype_from_name("float").has_value());
}

TEST(DType, HalfConversionsExact) {
  // Values with exact half representations, including the smallest subnormal
  // (2^-24), the largest normal (65504) and the smallest normal (2^-14).
  const float vals[] = {0.f, -0.f, 1.f, -2.5f, 65504.f, 5.9604645e-8f, 6.1035156e-5f, 0.333251953125f};
  const uint16_t bits[] = {0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x0400, 0x3555};
  for (size_t i = 0; i < std::size(vals); ++i) {
    EXPECT_EQ(f32_to_f16(vals[i]), bits[i]) << vals[i];
    EXPECT_EQ(f16_to_f32(bits[i]), vals[i]) << bits[i];
  }
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);  // overflow to +inf
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
  // 1 + 2^-11 is a tie between 1 and 1+2^-10: rounds to even (1).
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);
}

TEST(DType, Bfloat16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(3.140625f)), 3.140625f);
}

TEST(Shape, NumelAndString) {
  EXPECT_EQ(Shape({1, 3, 224, 224}).numel(), 150528);
  EXPECT_EQ(Shape({}).numel(), 1);
  EXPECT_EQ(Shape({1, 3, 224, 224}).str(), "1x3x224x224");
  EXPECT_EQ(Shape({}).str(), "scalar");
  EXPECT_EQ(Shape({-1, 3}).str(), "?x3");
  EXPECT_FALSE(Shape({-1, 3}).is_static());
}

TEST(Tensor, AlignedZeroedAndShared) {
  Tensor t(DType::kF32, {3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % kTensorAlignment, 0u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
  Tensor alias = t;
  alias.data<float>()[2] = 7.f;
  EXPECT_EQ(t.data<float>()[2], 7.f);
  Tensor deep = t.clone();
  deep.data<float>()[2] = 1.f;
  EXPECT_EQ(t.data<float>()[2], 7.f);
  EXPECT_EQ(t.desc(), "f32[3x5]");
}

// Packed weights' allocation: aligned (huge-page aligned from 2 MB),
// owning, shared by copies, and refused over the size limit like the
// zero-filling constructor.
TEST(Tensor, ForOverwriteAlignedOwnedAndLimited) {
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{1} << 20}) {
    Tensor t = tensor_for_overwrite(DType::kF32, {n});
    ASSERT_NE(t.raw(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % (n >= (int64_t{1} << 19) ? (2u << 20) : kTensorAlignment), 0u);
    EXPECT_EQ(t.shape(), Shape({n}));
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(i);
    Tensor alias = t;
    EXPECT_EQ(alias.data<float>()[n - 1], static_cast<float>(n - 1));
  }
  const size_t limit = tensor_byte_limit();
  set_tensor_byte_limit(1 << 20);
  EXPECT_THROW(tensor_for_overwrite(DType::kF32, {1 << 20}), TensorTooLarge);
  EXPECT_THROW(Tensor(DType::kF32, {1 << 20}), TensorTooLarge);
  set_tensor_byte_limit(limit);
  EXPECT_NO_THROW(tensor_for_overwrite(DType::kF32, {1 << 20}));
}

TEST(Tensor, WrapBorrowsUserMemory) {
  float buf[4] = {1, 2, 3, 4};
  Tensor t = Tensor::wrap(DType::kF32, {2, 2}, buf);
  t.data<float>()[3] = 9;
  EXPECT_EQ(buf[3], 9);
}

TEST(Tensor, CastSaturatesAndRounds) {
  Tensor f = Tensor::from_vector<float>({5}, {1.9f, -1.9f, 300.f, -300.f, std::nanf("")});
  Tensor i8 = f.cast(DType::kI8);
  EXPECT_EQ(i8.data<int8_t>()[0], 1);
  EXPECT_EQ(i8.data<int8_t>()[1], -1);
  EXPECT_EQ(i8.data<int8_t>()[2], 127);
  EXPECT_EQ(i8.data<int8_t>()[3], -128);
  EXPECT_EQ(i8.data<int8_t>()[4], 0);
  Tensor big = Tensor::from_vector<int64_t>({1}, {(int64_t{1} << 60) + 1});
  EXPECT_EQ(big.cast(DType::kI64).data<int64_t>()[0], (int64_t{1} << 60) + 1);
  Tensor h = Tensor::from_vector<float>({2}, {1.f, -2.5f}).cast(DType::kF16);
  EXPECT_EQ(h.data<uint16_t>()[1], 0xc100);
  EXPECT_EQ(h.cast(DType::kF32).data<float>()[1], -2.5f);
}

TEST(Cpu, CapLowersActiveIsa) {
  const Isa host = host_isa();
  set_isa_cap(Isa::kScalar);
  EXPECT_EQ(active_isa(), Isa::kScalar);
  set_isa_cap(std::nullopt);
  EXPECT_LE(static_cast<int>(active_isa()), static_cast<int>(host));
  EXPECT_EQ(*isa_from_name("avx2"), Isa::kAvx2);
  EXPECT_FALSE(isa_from_name("sse9").has_value());
}

}  // namespace
}  // namespace anvil
