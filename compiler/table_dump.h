// `emailroute dump`: a compiled table printed back as canonical TOML. Keys
// are folded and sorted, sizes are in bytes, paths are absolute, so
// compiling the dump gives the same bytes as the table it came from.
#pragma once

#include <string>

#include "runtime/table.h"

namespace emailroute {

std::string dump_table(const Table& table);

/// `text` as a TOML basic string, quotes included.
std::string toml_string(std::string_view text);

}  // namespace emailroute
