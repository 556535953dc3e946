// NumPy .npy files (format versions 1.0, 2.0 and 3.0), to exchange inputs
// and outputs with NumPy. Only little-endian, C-order arrays of plain
// numeric dtypes are supported:
// f4 f2 f8 i1 u1 i4 i8 b1 <-> f32 f16 f64 i8 u8 i32 i64 bool.
#pragma once
#include <string>

#include "anvil/status.h"
#include "anvil/tensor.h"

namespace anvil {

// Errors name the file and what is wrong with it (bad magic, unsupported
// dtype or byte order, Fortran order, truncated data, malformed header).
Result<Tensor> read_npy(const std::string& path);

// Same, from the bytes of a whole .npy file; `name_for_errors` stands in for
// the file name in messages.
Result<Tensor> parse_npy(const std::string& bytes, const std::string& name_for_errors);

// Writes version 1.0 (2.0 when the header would not fit), as numpy does.
// bf16 has no numpy dtype and is rejected.
Status write_npy(const std::string& path, const Tensor& t);
Result<std::string> serialize_npy(const Tensor& t);

}  // namespace anvil
