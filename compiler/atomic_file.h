// Replacing a file so that readers see the old one or the new one, never a
// mix, and a crash leaves one of them whole (as makemap and cdb do).
#pragma once

#include <sys/types.h>

#include <string>

#include "runtime/status.h"

namespace emailroute {

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// fsync, rename, fsync of the folder. On failure `path` is left as it was.
Status write_file_atomically(const std::string& path, const std::string& bytes, mode_t mode = 0644);

}  // namespace emailroute
