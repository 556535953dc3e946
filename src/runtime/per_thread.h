// Per-thread scratch buffers of the optimized kernels (one vector per pool
// thread, sized by the thread that uses it, inside the parallel region).
#pragma once
#include <algorithm>
#include <vector>

namespace anvil {

// With ThreadPool::parallel_for_balanced one thread may run none of a
// region's pieces (the other took them all), so its buffer would first be
// sized, on the heap, in some later run. Called after the region: every
// thread's buffer gets the capacity the largest one needed, and a run after
// the first allocates nothing whoever runs what (tests/alloc).
// By capacity, not size: a thread whose last piece was smaller (the short
// last strip of a pointwise + depthwise pair) keeps the room of its largest.
template <class T>
void equalize_capacity(std::vector<std::vector<T>>& per_thread) {
  size_t most = 0;
  for (const std::vector<T>& b : per_thread) most = std::max(most, b.capacity());
  for (std::vector<T>& b : per_thread) b.reserve(most);
}

}  // namespace anvil
