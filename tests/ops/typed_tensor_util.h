// Test helpers for exact (non-f32) comparisons and tensors of dtypes that
// op_test_util.h has no builders for.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "anvil/dtype.h"
#include "anvil/tensor.h"

namespace anvil::testing {

template <class T>
Tensor tt(Shape shape, const std::vector<T>& v) {
  return Tensor::from_vector<T>(std::move(shape), v);
}

inline Tensor tbool(Shape shape, const std::vector<bool>& v) { return Tensor::from_vector<bool>(std::move(shape), v); }

// f16 / bf16 tensors from f32 values (exactly representable ones in tests).
inline Tensor thalf(DType t, Shape shape, const std::vector<float>& v) {
  Tensor x(t, std::move(shape));
  auto* d = x.data<uint16_t>();
  for (size_t i = 0; i < v.size(); ++i) d[i] = t == DType::kF16 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
  return x;
}

// Exact comparison of dtype, shape and raw values.
template <class T>
void expect_values(const Tensor& got, const Shape& shape, const std::vector<T>& want) {
  ASSERT_EQ(got.dtype(), DTypeOf<T>::value) << "got " << got.desc();
  ASSERT_EQ(got.shape(), shape) << "got " << got.desc() << ", want shape " << shape.str();
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size());
  const T* g = got.data<T>();
  for (size_t i = 0; i < want.size(); ++i) {
    if constexpr (sizeof(T) == 1) {
      EXPECT_EQ(static_cast<int>(g[i]), static_cast<int>(want[i])) << "element " << i;
    } else {
      EXPECT_EQ(g[i], want[i]) << "element " << i;
    }
  }
}

// Raw 16-bit patterns of an f16/bf16 tensor.
inline std::vector<uint16_t> bits16(const Tensor& t) {
  const auto* d = t.data<uint16_t>();
  return std::vector<uint16_t>(d, d + t.numel());
}

}  // namespace anvil::testing
