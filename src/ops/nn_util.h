// Helpers private to the activation / nn op definitions (Conv, pooling,
// Gemm, Softmax, ...): error-message formatting, float-only dtype dispatch
// and the shared GEMM inner kernel. Generic helpers live in op_util.h.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops/op_util.h"

namespace anvil::ops {

// "f32[1x64x56x56]"
inline std::string type_desc(DType t, const Shape& s) {
  return std::string(dtype_name(t)) + "[" + s.str() + "]";
}
inline std::string type_desc(const InputInfo& in) { return type_desc(in.dtype, in.shape); }

// "[1, 2, 3]"
inline std::string int_list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

inline std::string dtype_list(std::initializer_list<DType> ts) {
  std::string s;
  for (DType t : ts) s += (s.empty() ? "" : ", ") + std::string(dtype_name(t));
  return s;
}

// Requires input `i` (called `name` in messages) to be present with one of
// `supported`. A dtype that ONNX allows for the op but anvil does not compute
// on (`valid_elsewhere`, by default the 16-bit floats) is kUnsupported so that
// conformance runs count it as a gap rather than a bad model.
inline Status check_dtype(const InferContext& c, size_t i, const char* op, const char* name,
                          std::initializer_list<DType> supported,
                          std::initializer_list<DType> valid_elsewhere = {DType::kF16, DType::kBF16}) {
  if (!c.has_input(i)) return invalid_model(std::string(op) + ": required input '" + name + "' is missing");
  const DType t = c.in(i).dtype;
  for (DType s : supported)
    if (s == t) return Status::ok();
  const std::string msg = std::string(op) + ": input '" + name + "' (" + type_desc(c.in(i)) + ") has dtype " +
                          dtype_name(t) + "; supported: " + dtype_list(supported);
  for (DType s : valid_elsewhere)
    if (s == t) return unsupported(msg);
  return invalid_model(msg);
}

// Requires optional input `i`, when present, to have the same dtype as input 0.
inline Status check_same_dtype(const InferContext& c, size_t i, const char* op, const char* name0,
                               const char* name) {
  if (!c.has_input(i) || c.in(i).dtype == c.in(0).dtype) return Status::ok();
  return invalid_model(std::string(op) + ": input '" + name + "' (" + type_desc(c.in(i)) +
                       ") must have the dtype of '" + name0 + "' (" + type_desc(c.in(0)) + ")");
}

inline bool dim_known(int64_t d) { return d >= 0; }

// Like dispatch_dtype, restricted to the floating types the math kernels
// are instantiated for (keeps integer instantiations of exp/tanh out).
template <class F>
Status dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::kF32: f.template operator()<float>(); return Status::ok();
    case DType::kF64: f.template operator()<double>(); return Status::ok();
    default: return unsupported(std::string("dtype ") + dtype_name(t) + " is not supported by this kernel");
  }
}

// Numeric dtypes without bool, for kernels whose arithmetic is meaningless
// (and warns) on bool.
template <class F>
Status dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kF32: f.template operator()<float>(); return Status::ok();
    case DType::kF64: f.template operator()<double>(); return Status::ok();
    case DType::kI8: f.template operator()<int8_t>(); return Status::ok();
    case DType::kU8: f.template operator()<uint8_t>(); return Status::ok();
    case DType::kI32: f.template operator()<int32_t>(); return Status::ok();
    case DType::kI64: f.template operator()<int64_t>(); return Status::ok();
    default: return unsupported(std::string("dtype ") + dtype_name(t) + " is not supported by this kernel");
  }
}

// C[MxN] += A[MxK] * B[KxN], row-major with leading dimensions. i-k-j order
// keeps the innermost loop a contiguous axpy over a row of B and C, which
// the compiler vectorises; __restrict removes the runtime alias checks.
template <class T>
inline void gemm_ikj(int64_t M, int64_t N, int64_t K, const T* __restrict A, int64_t lda,
                     const T* __restrict B, int64_t ldb, T* __restrict C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* __restrict c = C + i * ldc;
    const T* a = A + i * lda;
    for (int64_t k = 0; k < K; ++k) {
      const T av = a[k];
      const T* __restrict b = B + k * ldb;
      for (int64_t j = 0; j < N; ++j) c[j] += av * b[j];
    }
  }
}

}  // namespace anvil::ops
