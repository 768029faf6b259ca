// Where a command gets its routing table: compiled in memory from --config,
// or mapped from a compiled --table file.
#pragma once

#include <string>

#include "runtime/table.h"

namespace emailroute::cli {

/// Compiles `config` in memory when it is set, else opens `table_path`. The
/// error message holds every diagnostic, ready to print.
Result<Table> load_table(const std::string& config, const std::string& table_path);

}  // namespace emailroute::cli
