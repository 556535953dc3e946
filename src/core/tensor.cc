#include "anvil/tensor.h"
#include "core/tensor_alloc.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace anvil {

void* aligned_alloc_bytes(size_t n) {
#if defined(__linux__)
  // Buffers of 2 MB and more (packed weights, the activation arena) on
  // transparent huge pages where the kernel offers them (THP "madvise"
  // mode, Debian's default, gives them only on request): ResNet-101
  // streams 170 MB of weights per image, one TLB entry per 4 KB with small
  // pages (Zen 4's L2 TLB covers 12 MB of them). Measured within the
  // host's noise (R101 at 112: 46.0 vs 46.9 ms median of 5 alternating
  // runs); kept for hosts with less TLB reach.
  constexpr size_t kHuge = size_t{2} << 20;
  if (n >= kHuge) {
    const size_t sz = (n + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, sz);
    if (p) madvise(p, sz, MADV_HUGEPAGE);  // advice only: failure leaves 4 KB pages
    return p;
  }
#endif
  // Round up: std::aligned_alloc requires a multiple of the alignment, and a
  // zero-byte request must still yield a distinct pointer.
  size_t sz = (n + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (sz == 0) sz = kTensorAlignment;
  return std::aligned_alloc(kTensorAlignment, sz);
}

void aligned_free_bytes(void* p) { std::free(p); }

namespace {
// Constant-initialized (0: not set), so tensors made by other static
// initializers see it; the environment's default is read on first use.
std::atomic<size_t> g_tensor_limit{0};
size_t env_tensor_limit() {
  static const size_t v = [] {
    const char* e = std::getenv("ANVIL_MAX_TENSOR_BYTES");
    if (e && *e) {
      char* end = nullptr;
      const unsigned long long x = std::strtoull(e, &end, 10);
      if (end && *end == 0 && x > 0) return static_cast<size_t>(x);
    }
    return static_cast<size_t>(16) << 30;
  }();
  return v;
}
}  // namespace

size_t tensor_byte_limit() {
  const size_t v = g_tensor_limit.load(std::memory_order_relaxed);
  return v ? v : env_tensor_limit();
}
void set_tensor_byte_limit(size_t bytes) { g_tensor_limit.store(bytes); }

namespace {
// Throws TensorTooLarge for a tensor over tensor_byte_limit().
void check_tensor_size(const Tensor& t) {
  const int64_t count = t.shape().numel();
  const size_t esz = dtype_size(t.dtype());
  if (count < 0 || static_cast<uint64_t>(count) > tensor_byte_limit() / esz)
    throw TensorTooLarge("tensor " + t.desc() + " needs " +
                         (count == INT64_MAX ? std::string("more than 2^63 elements") : std::to_string(static_cast<uint64_t>(count) * esz) + " bytes") +
                         ", over the limit of " + std::to_string(tensor_byte_limit()) + " bytes (ANVIL_MAX_TENSOR_BYTES)");
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  check_tensor_size(*this);
  const size_t n = nbytes();
  void* p = aligned_alloc_bytes(n);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, n);
  storage_ = std::shared_ptr<void>(p, aligned_free_bytes);
  data_ = p;
}

bool storage_unshared(const Tensor& t) { return t.storage_ && t.storage_.use_count() == 1; }

Tensor tensor_for_overwrite(DType dtype, Shape shape) {
  Tensor t = Tensor::wrap(dtype, std::move(shape), nullptr);
  check_tensor_size(t);
  void* p = aligned_alloc_bytes(t.nbytes());
  if (!p) throw std::bad_alloc();
  return Tensor::view(dtype, t.shape(), p, std::shared_ptr<void>(p, aligned_free_bytes));
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t = wrap(dtype, std::move(shape), data);
  t.storage_ = std::move(owner);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape s) const {
  Tensor t = *this;
  t.shape_ = std::move(s);
  return t;
}

namespace {

template <class T>
double load_as_double(const void* p, int64_t i) {
  return static_cast<double>(static_cast<const T*>(p)[i]);
}

double load(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::kF32: return load_as_double<float>(p, i);
    case DType::kF64: return load_as_double<double>(p, i);
    case DType::kF16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kI8: return load_as_double<int8_t>(p, i);
    case DType::kU8: return load_as_double<uint8_t>(p, i);
    case DType::kI32: return load_as_double<int32_t>(p, i);
    case DType::kI64: return load_as_double<int64_t>(p, i);
    case DType::kBool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
  }
  return 0;
}

// Float->int conversion outside the target range is undefined in C++;
// saturate instead (NaN becomes 0), which is what most runtimes produce.
template <class I>
I saturate(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

void store(DType t, void* p, int64_t i, double v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::kF64: static_cast<double*>(p)[i] = v; break;
    case DType::kF16: static_cast<uint16_t*>(p)[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::kBF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::kI8: static_cast<int8_t*>(p)[i] = saturate<int8_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = saturate<uint8_t>(v); break;
    case DType::kI32: static_cast<int32_t*>(p)[i] = saturate<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t*>(p)[i] = saturate<int64_t>(v); break;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0.0 ? 1 : 0; break;
  }
}

}  // namespace

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor t(to, shape_);
  const int64_t n = numel();
  // int64 values beyond 2^53 would lose precision through double.
  if (dtype_ == DType::kI64 && to == DType::kI32) {
    for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(data<int64_t>()[i]);
    return t;
  }
  if (dtype_ == DType::kI32 && to == DType::kI64) {
    for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = data<int32_t>()[i];
    return t;
  }
  if (dtype_ == DType::kI64 && to == DType::kBool) {
    for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = data<int64_t>()[i] != 0;
    return t;
  }
  for (int64_t i = 0; i < n; ++i) store(to, t.data_, i, load(dtype_, data_, i));
  return t;
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  if (dtype_ == DType::kI64) {
    if (numel() > 0) std::memcpy(v.data(), data_, nbytes());
  } else {
    for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<int64_t>(load(dtype_, data_, i));
  }
  return v;
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<float>(load(dtype_, data_, i));
  return v;
}

std::string Tensor::desc() const { return std::string(dtype_name(dtype_)) + "[" + shape_.str() + "]"; }

}  // namespace anvil
