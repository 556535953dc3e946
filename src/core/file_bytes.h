// A whole file's bytes, for the importers (ONNX protobuf, MXNet symbol and
// params). A regular file is read into one buffer of its size: through a
// std::ostringstream the buffer grew by doubling and was then copied out,
// ~2.5x the file in transient memory (450 MB for ResNet-101's 180 MB ONNX
// file). Pipes and the like are read to their end.
#pragma once
#include <string>

#include "anvil/status.h"

namespace anvil {

// Errors: not_found (cannot open), invalid_argument (a directory), io_error
// (a short read), each naming the path.
Result<std::string> read_file_bytes(const std::string& path);

}  // namespace anvil
