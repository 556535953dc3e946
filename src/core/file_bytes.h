// A whole file's bytes, for the importers (ONNX protobuf, MXNet symbol and
// params). A regular file is read into one buffer of its size: through a
// std::ostringstream the buffer grew by doubling and was then copied out,
// ~2.5x the file in transient memory (450 MB for ResNet-101's 180 MB ONNX
// file). Pipes and the like are read to their end.
#pragma once
#include <string>
#include <string_view>

#include "anvil/status.h"

namespace anvil {

// Errors: not_found (cannot open), invalid_argument (a directory), io_error
// (a short read), each naming the path.
Result<std::string> read_file_bytes(const std::string& path);

// A regular file's bytes mapped read-only (the page cache's pages, nothing
// copied or zero-filled first); anything else (pipes) read into memory.
// Read into a buffer, ResNet-101's 170 MB ONNX file was a quarter of the
// time `anvil bench` takes to load and compile it: the buffer's zero fill
// and page faults, then the copy from the page cache.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();
  const char* data() const { return map_ ? static_cast<const char*>(map_) : read_.data(); }
  size_t size() const { return map_ ? size_ : read_.size(); }
  std::string_view view() const { return {data(), size()}; }

 private:
  friend Result<MappedFile> map_file_bytes(const std::string& path);
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string read_;
};

// Errors as read_file_bytes.
Result<MappedFile> map_file_bytes(const std::string& path);

}  // namespace anvil
