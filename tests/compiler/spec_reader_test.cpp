// Errors found while reading the TOML: syntax, unknown keys, unknown actions,
// values of the wrong type. Each is pinned to the full text `check` prints.
#include "compiler/spec_reader.h"

#include <doctest/doctest.h>

#include "tests/compiler/compile_helpers.h"

namespace emailroute {
using test::compile;
using test::errors;

TEST_CASE("suggests catch_all for the unknown key catchall") {
  CHECK(errors(R"([domains."example.com"]
catchall = "owner@gmail.com"
)") == R"(t.toml:2:1: error: unknown key "catchall" (did you mean "catch_all"?)
 2 | catchall = "owner@gmail.com"
   | ^
)");
}

TEST_CASE("suggests the relay key closest to a misspelt one") {
  CHECK(compile(R"([relay]
hostname = "mx.example.net"
srs_domian = "example.net"
srs_domain = "example.net"

[domains."example.com"]
catch_all = "owner@gmail.com"
)").render_errors() == R"(t.toml:3:1: error: unknown key "srs_domian" (did you mean "srs_domain"?)
 3 | srs_domian = "example.net"
   | ^
)");
}

TEST_CASE("names an unknown key without a suggestion when nothing is close") {
  CHECK(errors(R"([domains."example.com"]
catch_all = "owner@gmail.com"
colour = "blue"
)") == R"(t.toml:3:1: error: unknown key "colour"
 3 | colour = "blue"
   | ^
)");
}

TEST_CASE("rejects an unknown action and suggests the closest one") {
  CHECK(errors(R"([domains."example.com".addresses]
old = { action = "rejct" }
gone = { action = "bounce" }
)") == R"(t.toml:2:18: error: unknown action "rejct" (expected "forward", "drop" or "reject"); did you mean "reject"?
 2 | old = { action = "rejct" }
   |                  ^
t.toml:3:19: error: unknown action "bounce" (expected "forward", "drop" or "reject")
 3 | gone = { action = "bounce" }
   |                   ^
)");
}

TEST_CASE("rejects a route table without an action") {
  CHECK(errors(R"([domains."example.com".addresses]
old = { message = "gone" }
)") == R"(t.toml:2:7: error: missing "action" (one of "forward", "drop", "reject")
 2 | old = { message = "gone" }
   |       ^
)");
}

TEST_CASE("reports a TOML syntax error at its line and column") {
  CHECK(compile("[relay\nhostname = \"mx.example.net\"\n").render_errors() ==
        R"(t.toml:1:7: error: TOML syntax: Error while parsing table header: expected ']', saw '\n'
 1 | [relay
   |       ^
)");
}

TEST_CASE("explains that dotted names need quotes") {
  CHECK(errors(R"([domains.example.com]
catch_all = "x@gmail.com"
[domains."a.test".addresses]
first.last = "x@gmail.com"
)") == R"(t.toml:1:10: error: TOML reads [domains.example.com] as nested tables; quote the domain: [domains."example.com"]
 1 | [domains.example.com]
   |          ^
t.toml:4:1: error: TOML reads first.… as nested keys; quote an address that has a dot: "first.…" = ...
 4 | first.last = "x@gmail.com"
   | ^
)");
}

TEST_CASE("reports a value of the wrong type") {
  CHECK(errors(R"([domains."example.com"]
catch_all = 42
)") == R"(t.toml:2:13: error: "catch_all" must be an address, an array of addresses, or a table like { action = "drop" }
 2 | catch_all = 42
   |             ^
)");
}

}  // namespace emailroute
