#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "anvil/dtype.h"
#include "anvil/shape.h"
#include "anvil/status.h"

namespace anvil {

inline constexpr size_t kTensorAlignment = 64;

// A dense, row-major tensor. Storage is shared between copies (copying a
// Tensor is cheap); clone() makes a deep copy. Owned storage is 64-byte
// aligned; wrap() borrows user memory without copying.
class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised storage.
  Tensor(DType dtype, Shape shape);
  static Tensor wrap(DType dtype, Shape shape, void* data);
  // Borrows `data` as wrap() does, and keeps `owner` (e.g. a file mapping)
  // alive as long as any copy of the tensor exists.
  static Tensor view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& v);
  template <class T>
  static Tensor scalar(T v) { return from_vector<T>(Shape{}, std::vector<T>{v}); }

  bool defined() const { return data_ != nullptr || numel() == 0; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.rank(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T> T* data() { return static_cast<T*>(data_); }
  template <class T> const T* data() const { return static_cast<const T*>(data_); }

  Tensor clone() const;
  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape s) const;
  // Converts to another dtype (float<->int casts follow C++ conversion with
  // saturation for float->int; ONNX Cast semantics).
  Tensor cast(DType to) const;
  // Values as int64 (for shape-like tensors of any integer dtype).
  std::vector<int64_t> to_i64_vector() const;
  std::vector<float> to_f32_vector() const;
  // "f32[1x3x224x224]"
  std::string desc() const;

 private:
  friend bool storage_unshared(const Tensor& t);  // internal (core/tensor_alloc.h)
  DType dtype_ = DType::kF32;
  Shape shape_;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& v) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  assert(static_cast<int64_t>(v.size()) == t.numel());
  T* d = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) d[i] = v[i];
  return t;
}

// The largest single tensor anvil allocates, in bytes (default 16 GiB, or
// the environment's ANVIL_MAX_TENSOR_BYTES). A bigger one (a hostile or
// broken model's declared shape) throws TensorTooLarge, which the API
// returns as a kOutOfRange Status naming the size, before any memory is
// touched.
size_t tensor_byte_limit();
void set_tensor_byte_limit(size_t bytes);
struct TensorTooLarge : std::length_error {
  using std::length_error::length_error;
};

// 64-byte aligned allocation.
void* aligned_alloc_bytes(size_t n);
void aligned_free_bytes(void* p);

}  // namespace anvil
