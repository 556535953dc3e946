#include "core/file_bytes.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

MappedFile::MappedFile(MappedFile&& o) noexcept : map_(o.map_), size_(o.size_), read_(std::move(o.read_)) {
  o.map_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, size_);
    map_ = o.map_;
    size_ = o.size_;
    read_ = std::move(o.read_);
    o.map_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (map_) ::munmap(map_, size_);
}

Result<MappedFile> map_file_bytes(const std::string& path) {
  MappedFile f;
  // Decided before opening: a FIFO opened here and closed unread would
  // lose what its writer sent. Anything not mapped here (a directory, a
  // pipe, an empty or unopenable file, a file system without mmap) goes to
  // read_file_bytes, which reads it or names what is wrong.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      struct stat now {};
      void* m = MAP_FAILED;
      if (::fstat(fd, &now) == 0 && S_ISREG(now.st_mode) && now.st_size > 0)
        m = ::mmap(nullptr, static_cast<size_t>(now.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      ::close(fd);
      if (m != MAP_FAILED) {
        ::madvise(m, static_cast<size_t>(now.st_size), MADV_SEQUENTIAL);  // read once, front to back
        f.map_ = m;
        f.size_ = static_cast<size_t>(now.st_size);
        return f;
      }
    }
  }
  ANVIL_ASSIGN_OR_RETURN(f.read_, read_file_bytes(path));
  return f;
}

}  // namespace anvil
