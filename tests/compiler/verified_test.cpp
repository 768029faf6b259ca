// require_verified with verified_file: listed destinations pass, each
// unlisted one is named, and a missing file means nothing is verified.
#include "compiler/verified.h"

#include <doctest/doctest.h>

#include "tests/compiler/compile_helpers.h"

namespace emailroute {
namespace {

const char* const kSpec = R"([domains."example.com".addresses]
sales = ["Alice@Gmail.com", "bob@outlook.com"]
team = "sales@example.com"

[relay]
hostname = "mx.example.net"
srs_domain = "example.net"
require_verified = true
verified_file = "verified.txt"
)";

std::string not_verified(const std::string& file) {
  return R"(t.toml:2:29: error: destination "bob@outlook.com" is not verified (require_verified is true and )" + file +
         R"( does not list it)
 2 | sales = ["Alice@Gmail.com", "bob@outlook.com"]
   |                             ^
)";
}

}  // namespace

TEST_CASE("accepts destinations listed in verified_file, in any case") {
  test::ScratchDir dir;
  dir.write("verified.txt", "# confirmed with emailroute verify\n\n  alice@gmail.com \nBOB@outlook.com\r\n");
  CompileOutcome out = test::compile(kSpec, dir.path());
  CHECK_MESSAGE(out.ok(), out.render_errors());
}

TEST_CASE("names each destination missing from verified_file, once") {
  test::ScratchDir dir;
  std::string file = dir.write("verified.txt", "alice@gmail.com\n# bob@outlook.com\n");
  CompileOutcome out = test::compile(kSpec, dir.path());
  // team forwards to bob too (through sales), but bob is named only once.
  CHECK(out.render_errors() == not_verified(file));
}

TEST_CASE("treats a missing verified_file as nothing verified") {
  test::ScratchDir dir;
  std::string file = dir.path() + "/verified.txt";
  CHECK(test::compile(kSpec, dir.path()).render_errors() ==
        R"(t.toml:2:10: error: destination "Alice@Gmail.com" is not verified (require_verified is true and )" + file +
            R"( does not list it)
 2 | sales = ["Alice@Gmail.com", "bob@outlook.com"]
   |          ^
)" + not_verified(file));
}

TEST_CASE("does not ask to verify the config's own addresses when a loop leaves them unresolved") {
  test::ScratchDir dir;
  CHECK(test::compile(R"([domains."a.test".addresses]
x = "y@a.test"
y = "X@A.test"
[relay]
hostname = "mx.example.net"
srs_domain = "example.net"
require_verified = true
)", dir.path()).render_errors() == R"(t.toml:3:5: error: forwarding loop: x@a.test -> y@a.test -> x@a.test
 3 | y = "X@A.test"
   |     ^
)");
}

TEST_CASE("checks nothing while require_verified is false") {
  test::ScratchDir dir;
  std::string spec = kSpec;
  spec.replace(spec.find("require_verified = true"), 23, "require_verified = false");
  CHECK_MESSAGE(test::compile(spec, dir.path()).ok(), test::compile(spec, dir.path()).render_errors());
}

}  // namespace emailroute
