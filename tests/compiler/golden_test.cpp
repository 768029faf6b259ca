// Golden tests for what users read: every examples/*.toml checks clean, its
// dump matches the checked-in tests/golden/<name>.dump.toml, and compiling
// that dump gives the example's table byte for byte.
//
// To regenerate the references after an intended change, run
//   EMAILROUTE_UPDATE_GOLDEN=1 build/emailroute_tests -tc='*golden*'
// and review the diff of tests/golden/ before committing it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/compile.h"
#include "compiler/table_dump.h"
#include "tests/compiler/compile_helpers.h"

namespace emailroute {
namespace {

namespace fs = std::filesystem;
const fs::path kExamples = fs::path(EMAILROUTE_SOURCE_DIR) / "examples";
const fs::path kGolden = fs::path(EMAILROUTE_SOURCE_DIR) / "tests" / "golden";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The dump with what depends on the checkout and the release made portable:
// dump prints absolute paths, so the examples folder becomes "@EXAMPLES@",
// and the version in its first line becomes "@VERSION@".
std::string portable(const std::string& dump) {
  std::string text = replace_all(dump, kExamples.string(), "@EXAMPLES@");
  return replace_all(text, "emailroute " EMAILROUTE_VERSION ";", "emailroute @VERSION@;");
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> examples() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    if (entry.path().extension() == ".toml") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every example checks clean and dumps as its golden reference") {
  const char* update_env = std::getenv("EMAILROUTE_UPDATE_GOLDEN");
  const bool update = update_env != nullptr && std::string(update_env) == "1";
  std::vector<fs::path> all = examples();
  CHECK(all.size() >= 3);
  for (const fs::path& example : all) {
    CAPTURE(example.string());
    CompileOutcome out = compile_config(example.string());
    REQUIRE_MESSAGE(out.ok(), out.render_errors());
    std::string dump = dump_table(test::table_of(out));

    fs::path golden = kGolden / (example.stem().string() + ".dump.toml");
    if (update) std::ofstream(golden, std::ios::binary) << portable(dump);
    REQUIRE_MESSAGE(fs::exists(golden), "no reference " << golden.string() << "; see the top of this file");
    CHECK(portable(dump) == read_file(golden));

    CompileOutcome again = compile_source(dump, "dump.toml", "/");
    REQUIRE_MESSAGE(again.ok(), again.render_errors());
    CHECK(again.table == out.table);
  }
}

TEST_CASE("a golden reference compiles once its placeholders are filled in") {
  // The references are TOML users can read and compile, not only test data.
  for (const fs::path& example : examples()) {
    CAPTURE(example.string());
    fs::path golden = kGolden / (example.stem().string() + ".dump.toml");
    std::string text = replace_all(read_file(golden), "@EXAMPLES@", kExamples.string());
    CompileOutcome out = compile_source(text, golden.string(), "/");
    CHECK_MESSAGE(out.ok(), out.render_errors());
    CHECK(out.table == compile_config(example.string()).table);
  }
}

}  // namespace emailroute
