// The whole compiler in one call: read the config file, validate it, build
// the table. Used by `check`, `compile`, `route --config` and `serve --config`.
#pragma once

#include <optional>
#include <string>

#include "compiler/diagnostics.h"
#include "compiler/routing_model.h"

namespace emailroute {

struct CompileOutcome {
  std::string path;    // the config file, as named by the user
  std::string source;  // its text, for rendering diagnostics
  std::string io_error;  // set when the file could not be read (no diagnostics then)
  Diagnostics diagnostics;
  std::optional<RoutingModel> model;
  std::string table;  // the table bytes, when ok()

  bool ok() const { return io_error.empty() && diagnostics.empty() && model.has_value(); }
  /// The I/O error or every diagnostic, ready to print.
  std::string render_errors() const;
};

/// Compiles the config file at `path`; relative paths inside it are resolved
/// from the file's folder.
CompileOutcome compile_config(const std::string& path);

/// Compiles `source` as if read from `path`, resolving relative paths from `config_dir`.
CompileOutcome compile_source(std::string source, const std::string& path, const std::string& config_dir);

struct SpecSummary {
  std::size_t domains = 0, addresses = 0, destinations = 0;  // destinations: distinct, after resolution
};
SpecSummary summarize(const RoutingModel& model);

}  // namespace emailroute
