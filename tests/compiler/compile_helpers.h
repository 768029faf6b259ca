// Helpers shared by the compiler tests: compile TOML held in memory, and a
// scratch folder for the files a spec names (verified_file, srs.key).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "runtime/table.h"

namespace emailroute::test {

/// A valid [relay] table. Tests put it after the text under test, so that
/// the line numbers in their expected diagnostics count from that text's top.
inline constexpr const char* kRelay = "\n[relay]\nhostname = \"mx.example.net\"\nsrs_domain = \"example.net\"\n";

/// Compiles `source` as the file "t.toml" whose relative paths start at `dir`.
inline CompileOutcome compile(std::string source, const std::string& dir = "/nonexistent") {
  return compile_source(std::move(source), "t.toml", dir);
}

/// Every diagnostic for `body` followed by kRelay, rendered as `check` prints them.
inline std::string errors(const std::string& body) { return compile(body + kRelay).render_errors(); }

/// The table the source compiles to, opened. REQUIRES: the source is valid.
inline Table table_of(const CompileOutcome& out) {
  auto table = Table::from_bytes(std::vector<std::uint8_t>(out.table.begin(), out.table.end()));
  if (!table.ok()) throw std::runtime_error(table.status().message());
  return std::move(*table);
}

/// The destinations of `route`, copied.
inline std::vector<std::string> destinations(const Route& route) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < route.destination_count(); ++i) out.emplace_back(route.destination(i));
  return out;
}

/// A fresh folder under the system's temp folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("emailroute-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace emailroute::test
