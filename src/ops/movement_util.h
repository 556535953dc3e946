// Helpers shared by the data-movement and shape ops (Concat, Gather, Slice,
// Transpose, ...): they move elements without interpreting them, so one
// code path per element size serves every dtype, f16/bf16 and bool included.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ops/op_util.h"

namespace anvil::ops {

// Calls f.template operator()<U>() with U an unsigned integer of `size` bytes.
template <class F>
Status dispatch_elem_size(size_t size, F&& f) {
  switch (size) {
    case 1: f.template operator()<uint8_t>(); return Status::ok();
    case 2: f.template operator()<uint16_t>(); return Status::ok();
    case 4: f.template operator()<uint32_t>(); return Status::ok();
    case 8: f.template operator()<uint64_t>(); return Status::ok();
    default: return internal_error("no element mover for " + std::to_string(size) + "-byte elements");
  }
}

// memcpy with a null pointer is undefined even for zero bytes, and empty
// tensors may have no storage.
inline void copy_bytes(void* dst, const void* src, size_t n) {
  if (n != 0) std::memcpy(dst, src, n);
}

// "f32[1x3x224x224]"
inline std::string info_desc(const InputInfo& in) {
  return std::string(dtype_name(in.dtype)) + "[" + in.shape.str() + "]";
}

// "input 1 (f32[2x3])"
inline std::string input_str(const InferContext& c, size_t i) {
  return "input " + std::to_string(i) + " (" + info_desc(c.in(i)) + ")";
}

// Attribute read whose error names the op.
template <class T>
Status get_attr(const InferContext& c, const std::string& name, T& out) {
  Status s = c.node.attrs.get(name, out);
  if (!s.is_ok()) return std::move(s).with_context(c.node.op);
  return Status::ok();
}

// Product of dims[begin, end); -1 when any of them is unbound.
inline int64_t dims_product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) {
    if (s[i] < 0) return -1;
    p *= s[i];
  }
  return p;
}

inline std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

// Copies input 0 to output 0 byte for byte (Identity, Reshape, Flatten, ...).
inline Status copy_input_to_output(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  if (x.nbytes() != y.nbytes()) {
    return internal_error(k.node.op + ": output " + y.desc() + " does not match input " + x.desc() + " in size");
  }
  copy_bytes(y.raw(), x.raw(), x.nbytes());
  return Status::ok();
}

}  // namespace anvil::ops
