#include "compiler/compile.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/spec_reader.h"
#include "compiler/table_builder.h"
#include "compiler/validate.h"
#include "runtime/address.h"

namespace emailroute {

std::string CompileOutcome::render_errors() const {
  if (!io_error.empty()) return "emailroute: " + io_error + "\n";
  return diagnostics.render(path, source);
}

CompileOutcome compile_source(std::string source, const std::string& path, const std::string& config_dir) {
  CompileOutcome out;
  out.path = path;
  out.source = std::move(source);
  std::optional<Spec> spec = read_spec(out.source, out.path, out.diagnostics);
  if (!spec) return out;
  out.model = validate_spec(*spec, config_dir, out.diagnostics);
  if (!out.model || !out.diagnostics.empty()) {
    out.model.reset();
    return out;
  }
  auto table = build_table(*out.model);
  if (!table.ok()) {
    out.diagnostics.error({1, 1}, table.status().message());
    out.model.reset();
    return out;
  }
  out.table = std::move(*table);
  return out;
}

CompileOutcome compile_config(const std::string& path) {
  // errno is only meaningful right after a failure, so it is cleared first
  // and a folder is recognised by asking, not by a leftover errno.
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  std::error_code ec;
  bool folder = std::filesystem::is_directory(path, ec);
  if (folder) errno = EISDIR;
  else if (in) text << in.rdbuf();
  if (!in || in.bad() || folder) {
    CompileOutcome out;
    out.path = path;
    out.io_error = "cannot read " + path + ": " + std::strerror(errno);
    return out;
  }
  std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  return compile_source(text.str(), path, dir.string());
}

SpecSummary summarize(const RoutingModel& model) {
  SpecSummary s;
  std::set<std::string> destinations;
  auto add = [&](const ModelRoute& r) {
    for (const std::string& d : r.destinations) destinations.insert(folded(d));
  };
  for (const ModelDomain& d : model.domains) {
    s.addresses += d.addresses.size();
    for (const ModelAddress& a : d.addresses) add(a.route);
    if (d.catch_all) add(*d.catch_all);
  }
  s.domains = model.domains.size();
  s.destinations = destinations.size();
  return s;
}

}  // namespace emailroute
