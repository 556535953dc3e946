#include "anvil/shape.h"

#include <cstdint>

namespace anvil {

bool Shape::is_static() const {
  for (int64_t d : d_)
    if (d < 0) return false;
  return true;
}

int64_t Shape::numel() const {
  // Saturates instead of overflowing (hostile files declare such shapes;
  // allocation then refuses the size), and a zero dimension wins wherever
  // it is.
  for (int64_t d : d_)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : d_)
    if (__builtin_mul_overflow(n, d, &n)) return INT64_MAX;
  return n;
}

std::string Shape::str() const {
  if (d_.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < d_.size(); ++i) {
    if (i) s += 'x';
    s += d_[i] < 0 ? std::string("?") : std::to_string(d_[i]);
  }
  return s;
}

}  // namespace anvil
