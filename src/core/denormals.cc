#include "core/denormals.h"

#include <xmmintrin.h>

namespace anvil {

uint32_t read_mxcsr() { return _mm_getcsr(); }
void write_mxcsr(uint32_t v) { _mm_setcsr(v); }

DenormalGuard::DenormalGuard(bool enable) : saved_(read_mxcsr()) {
  const uint32_t bits = kMxcsrFtz | kMxcsrDaz;
  write_mxcsr(enable ? (saved_ | bits) : (saved_ & ~bits));
}

DenormalGuard::~DenormalGuard() { write_mxcsr(saved_); }

}  // namespace anvil
