#include "compiler/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace emailroute {

Status write_file_atomically(const std::string& path, const std::string& bytes, mode_t mode) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(temp.data());
  if (fd < 0) return Status::io_error("cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
  auto fail = [&](const char* what) {
    Status s = Status::io_error(std::string(what) + " " + temp + ": " + std::strerror(errno));
    close(fd);
    unlink(temp.c_str());
    return s;
  };
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (fchmod(fd, mode) != 0) return fail("cannot chmod");
  if (fsync(fd) != 0) return fail("cannot fsync");
  if (close(fd) != 0) {
    fd = -1;
    unlink(temp.c_str());
    return Status::io_error("cannot close " + temp + ": " + std::strerror(errno));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    Status s = Status::io_error("cannot rename " + temp + " to " + path + ": " + std::strerror(errno));
    unlink(temp.c_str());
    return s;
  }
  // The rename is durable only once the folder itself is on disk.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return Status();
}

}  // namespace emailroute
