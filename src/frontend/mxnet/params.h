// MXNet NDArray-list files (`.params`, `mx.nd.save`): a u64 magic 0x112 and a
// reserved u64, then the arrays (u64 count, each a record), then the names
// (u64 count, each u64 length + bytes). Records come in four versions:
//   V3 0xF993FACA / V2 0xF993FAC9: magic, i32 storage type, shape, context,
//       type flag, data (V3 is the numpy-shape form: ndim -1 = none, 0 = scalar);
//   V1 0xF993FAC8: magic, shape, context, type flag, data;
//   V0 (legacy):   u32 ndim, u32 dims, context, type flag, data.
// A shape is u32 ndim + i64 dims (V0: u32 dims); a context is two i32.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"

namespace anvil::mxnet {

inline constexpr uint64_t kNDArrayListMagic = 0x112;
inline constexpr uint32_t kNDArrayV1Magic = 0xF993FAC8;
inline constexpr uint32_t kNDArrayV2Magic = 0xF993FAC9;
inline constexpr uint32_t kNDArrayV3Magic = 0xF993FACA;

struct NDArrayList {
  // Empty when the file stores no names (mx.nd.save of a list); otherwise
  // one per array, with their "arg:"/"aux:" prefixes as stored.
  std::vector<std::string> names;
  // f64 and f16 data are converted to f32; integer types are kept. An
  // undefined ("none") array is an empty Tensor().
  std::vector<Tensor> arrays;
  // Record versions seen ("V2", "V0", ...) and conversions made, for notes.
  std::vector<std::string> notes;
};

// Errors name `name` (the file) and the record: truncation, bad magic, sparse
// storage, unsupported dtypes, absurd shapes. Every size is checked against
// the bytes left in the file before anything is allocated.
Result<NDArrayList> parse_ndarray_list(std::string_view bytes, const std::string& name);
Result<NDArrayList> load_ndarray_list(const std::string& path);

// Writes V2 records (dense, CPU context), as MXNet 1.x does. Tensors must be
// of a dtype MXNet has (f32, f64, f16, u8, i8, i32, i64).
Result<std::string> serialize_ndarray_list(const NDArrayList& list);
Status save_ndarray_list(const std::string& path, const NDArrayList& list);

// MXNet mshadow type flag <-> name ("float32"...), for messages.
const char* mx_type_flag_name(int32_t flag);

}  // namespace anvil::mxnet
