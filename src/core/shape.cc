#include "anvil/shape.h"

namespace anvil {

bool Shape::is_static() const {
  for (int64_t d : d_)
    if (d < 0) return false;
  return true;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : d_) n *= d;
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
