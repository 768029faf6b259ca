// compile_config: reading the file, I/O errors, relative paths, and the
// same input always giving the same bytes.
#include "compiler/compile.h"

#include <doctest/doctest.h>

#include <cerrno>

#include "tests/compiler/compile_helpers.h"

namespace emailroute {

TEST_CASE("names a config that cannot be read, and a folder given as config") {
  test::ScratchDir dir;
  CompileOutcome missing = compile_config(dir.path() + "/none.toml");
  CHECK(missing.render_errors() == "emailroute: cannot read " + dir.path() + "/none.toml: No such file or directory\n");
  CHECK_FALSE(missing.ok());
  CompileOutcome folder = compile_config(dir.path());
  CHECK(folder.render_errors() == "emailroute: cannot read " + dir.path() + ": Is a directory\n");
}

TEST_CASE("reads a config whatever errno held before") {
  test::ScratchDir dir;
  std::string path = dir.write("emailroute.toml", std::string("[domains.\"a.test\"]\ncatch_all = \"x@gmail.com\"\n") + test::kRelay);
  (void)compile_config(dir.path());  // a folder: fails and leaves errno set
  errno = EISDIR;
  CompileOutcome out = compile_config(path);
  CHECK_MESSAGE(out.ok(), out.render_errors());
}

TEST_CASE("resolves relative paths from the config's folder") {
  test::ScratchDir dir;
  std::string path = dir.write("emailroute.toml", std::string("[domains.\"a.test\"]\ncatch_all = \"x@gmail.com\"\n") + test::kRelay +
                                                      "srs_secret_file = \"keys/../srs.key\"\ntls_certificate = \"c.pem\"\n"
                                                      "tls_key = \"/etc/k.pem\"\n");
  CompileOutcome out = compile_config(path);
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  Table table = test::table_of(out);
  RelaySettings s = table.settings();
  CHECK(s.srs_secret_file == dir.path() + "/srs.key");
  CHECK(s.tls_certificate == dir.path() + "/c.pem");
  CHECK(s.tls_key == "/etc/k.pem");
}

TEST_CASE("summarizes domains, addresses and distinct destinations after resolution") {
  CompileOutcome out = test::compile(std::string(R"([domains."a.test"]
catch_all = "Owner@gmail.com"
[domains."a.test".addresses]
x = ["owner@GMAIL.com", "y@a.test"]
y = "z@mail.test"
z = { action = "drop" }
)") + test::kRelay);
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  SpecSummary s = summarize(*out.model);
  CHECK(s.domains == 1);
  CHECK(s.addresses == 3);
  CHECK(s.destinations == 2);
}

}  // namespace emailroute
