// Destinations inside the config's own domains: chains are resolved at
// compile time (checked through the compiled table), loops name their cycle.
#include "compiler/local_routes.h"

#include <doctest/doctest.h>

#include "tests/compiler/compile_helpers.h"

namespace emailroute {
using test::compile;
using test::errors;
using Strings = std::vector<std::string>;

TEST_CASE("names the whole cycle of a forwarding loop across domains") {
  CHECK(errors(R"([domains."a.test".addresses]
x = "y@a.test"
y = "z@b.test"

[domains."b.test".addresses]
z = "X@A.test"
)") == R"(t.toml:6:5: error: forwarding loop: x@a.test -> y@a.test -> z@b.test -> x@a.test
 6 | z = "X@A.test"
   |     ^
)");
}

TEST_CASE("names an address that forwards to itself") {
  CHECK(errors(R"([domains."a.test".addresses]
me = ["out@gmail.com", "me+again@a.test"]
)") == R"(t.toml:2:24: error: forwarding loop: me@a.test -> me@a.test
 2 | me = ["out@gmail.com", "me+again@a.test"]
   |                        ^
)");
}

TEST_CASE("finds a loop through a catch-all and a wildcard") {
  CHECK(errors(R"([domains."a.test"]
catch_all = "team-lead@a.test"

[domains."a.test".addresses]
"team-*" = "nobody@a.test"
)") == R"(t.toml:2:13: error: forwarding loop: team-*@a.test -> catch_all of a.test -> team-*@a.test
 2 | catch_all = "team-lead@a.test"
   |             ^
)");
}

TEST_CASE("resolves a chain without a loop at compile time") {
  CompileOutcome out = compile(std::string(R"([domains."a.test".addresses]
sales = ["team@a.test", "boss@gmail.com"]
team = ["x@mail.test", "ops+sales@B.test"]
quiet = "noreply@a.test"
noreply = { action = "drop" }

[domains."b.test".addresses]
ops = ["y@mail.test", "X@MAIL.test", "boss@gmail.com"]
)") + test::kRelay);
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  Table table = test::table_of(out);
  // Destinations keep the order written; duplicates (compared case-insensitively) go.
  CHECK(test::destinations(table.resolve("sales", "a.test").route) == Strings{"x@mail.test", "y@mail.test", "boss@gmail.com"});
  CHECK(test::destinations(table.resolve("team", "a.test").route) == Strings{"x@mail.test", "y@mail.test", "boss@gmail.com"});
  CHECK(test::destinations(table.resolve("ops", "b.test").route) == Strings{"y@mail.test", "X@MAIL.test", "boss@gmail.com"});
  // Forwarding only to dropped addresses is a drop.
  CHECK(table.resolve("quiet", "a.test").route.action() == RouteAction::kDrop);
}

TEST_CASE("refuses a local destination that is rejected or matches nothing") {
  CHECK(errors(R"([domains."a.test".addresses]
old = { action = "reject", message = "gone" }
x = "old@a.test"
y = "missing@a.test"
)") == R"(t.toml:3:5: error: destination "old@a.test" is rejected by this config (old@a.test)
 3 | x = "old@a.test"
   |     ^
t.toml:4:5: error: destination "missing@a.test" is in a.test, which this config routes, but no address there matches it (mail to it would be rejected with 550 5.1.1)
 4 | y = "missing@a.test"
   |     ^
)");
}

TEST_CASE("refuses a chain longer than 32 hops") {
  std::string body = "[domains.\"a.test\".addresses]\n";
  for (int i = 0; i < 40; ++i) body += "a" + std::to_string(i) + " = \"a" + std::to_string(i + 1) + "@a.test\"\n";
  body += "a40 = \"end@gmail.com\"\n";
  CompileOutcome out = compile(body + test::kRelay);
  CHECK_FALSE(out.ok());
  CHECK(out.render_errors().find("is longer than 32 hops") != std::string::npos);
}

}  // namespace emailroute
