#include "cli/table_source.h"

#include "compiler/compile.h"

namespace emailroute::cli {

Result<Table> load_table(const std::string& config, const std::string& table_path) {
  if (config.empty()) return Table::open(table_path);
  CompileOutcome out = compile_config(config);
  if (!out.ok()) {
    std::string errors = out.render_errors();
    if (!errors.empty() && errors.back() == '\n') errors.pop_back();
    return out.io_error.empty() ? Status::invalid(errors) : Status::io_error(errors);
  }
  return Table::from_bytes(std::vector<std::uint8_t>(out.table.begin(), out.table.end()));
}

}  // namespace emailroute::cli
