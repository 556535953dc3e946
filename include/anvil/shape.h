#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace anvil {

// Dimensions of a tensor. A dimension of -1 means "not known yet" (a dynamic
// dimension that has not been bound); such shapes are never executed.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> d) : d_(d) {}
  explicit Shape(std::vector<int64_t> d) : d_(std::move(d)) {}

  size_t rank() const { return d_.size(); }
  int64_t operator[](size_t i) const { return d_[i]; }
  int64_t& operator[](size_t i) { return d_[i]; }
  const std::vector<int64_t>& dims() const { return d_; }
  std::vector<int64_t>& dims() { return d_; }
  bool is_static() const;
  // Product of the dimensions; 1 for a scalar. Requires a static shape.
  int64_t numel() const;
  // "1x3x224x224"; "scalar" for rank 0; "?" for unknown dimensions.
  std::string str() const;
  bool operator==(const Shape& o) const { return d_ == o.d_; }
  bool operator!=(const Shape& o) const { return d_ != o.d_; }

 private:
  std::vector<int64_t> d_;
};

}  // namespace anvil
