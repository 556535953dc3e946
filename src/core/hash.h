// XXH64 (Yann Collet's xxHash, 64-bit variant): the checksum of compiled
// artifacts. Chosen for speed (four independent multiply lanes run at
// memory bandwidth), not for security: it detects corruption, not tampering.
#pragma once
#include <cstddef>
#include <cstdint>

namespace anvil {

uint64_t xxh64(const void* data, size_t len, uint64_t seed = 0);

}  // namespace anvil
