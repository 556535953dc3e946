#include "core/file_bytes.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace anvil {

Result<std::string> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return invalid_argument(path + ": a directory, not a model file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found(path + ": cannot open file (" + std::strerror(errno) + ")");
  std::string bytes;
  const uintmax_t size = std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  if (size > 0 && !ec) {
    bytes.resize(static_cast<size_t>(size));
    if (!f.read(bytes.data(), static_cast<std::streamsize>(size)))
      return io_error(path + ": read failed after " + std::to_string(f.gcount()) + " of " + std::to_string(size) +
                      " bytes");
  } else {
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) return io_error(path + ": read failed");
  }
  return bytes;
}

}  // namespace anvil
