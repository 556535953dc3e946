// Flush-to-zero (FTZ) and denormals-are-zero (DAZ) control via MXCSR.
#pragma once
#include <cstdint>

namespace anvil {

inline constexpr uint32_t kMxcsrFtz = 1u << 15;
inline constexpr uint32_t kMxcsrDaz = 1u << 6;

uint32_t read_mxcsr();
void write_mxcsr(uint32_t v);

// Sets FTZ and DAZ (when `enable`) for its lifetime on this thread and
// restores the previous MXCSR afterwards. With enable=false it clears them
// (subnormals kept, for study) and restores too.
class DenormalGuard {
 public:
  explicit DenormalGuard(bool enable);
  ~DenormalGuard();
  DenormalGuard(const DenormalGuard&) = delete;
  DenormalGuard& operator=(const DenormalGuard&) = delete;

 private:
  uint32_t saved_;
};

}  // namespace anvil
