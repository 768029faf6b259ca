// Validation rules, one case each, pinned to the full text `check` prints:
// FILE:LINE:COL: error: MESSAGE, the source line, a caret under the column.
#include "compiler/validate.h"

#include <doctest/doctest.h>

#include "tests/compiler/compile_helpers.h"

namespace emailroute {
using test::compile;
using test::errors;

namespace {

// The error `check` prints for `a = "DESTINATION"` (TOML text, escapes allowed).
std::string destination_error(const std::string& toml_destination) {
  return errors("[domains.\"example.com\".addresses]\na = \"" + toml_destination + "\"\n");
}

std::string destination_report(const std::string& toml_destination, const std::string& shown, const std::string& why) {
  return "t.toml:2:5: error: destination \"" + shown + "\" is not a valid address: " + why + "\n" +
         " 2 | a = \"" + toml_destination + "\"\n" + "   |     ^\n";
}

}  // namespace

TEST_CASE("refuses destinations with CR, LF, NUL, space, < or >") {
  struct Case {
    const char* toml;
    const char* shown;
    const char* why;
  };
  const Case cases[] = {
      {"x\\r@gmail.com", "x\\x0d@gmail.com", "control character in local part"},
      {"x@gmail.com\\n", "x@gmail.com\\x0a", "control character in domain"},
      {"x\\u0000y@gmail.com", "x\\x00y@gmail.com", "control character in local part"},
      {"x y@gmail.com", "x y@gmail.com", "character ' ' not allowed in local part"},
      {"<x@gmail.com", "<x@gmail.com", "character '<' not allowed in local part"},
      {"x@gmail.com>", "x@gmail.com>", "character '>' not allowed in domain"},
      {"x@gm ail.com", "x@gm ail.com", "character ' ' not allowed in domain"},
  };
  for (const Case& c : cases) {
    std::string toml = c.toml;
    CAPTURE(toml);
    CHECK(destination_error(c.toml) == destination_report(c.toml, c.shown, c.why));
  }
}

TEST_CASE("refuses a destination without an @ and one with a quoted local part") {
  CHECK(destination_error("gmail.com") == destination_report("gmail.com", "gmail.com", "missing '@'"));
  CHECK(destination_error("\\\"a b\\\"@gmail.com") ==
        destination_report("\\\"a b\\\"@gmail.com", "\"a b\"@gmail.com", "quoted local parts are not supported in destinations"));
}

TEST_CASE("refuses a local part over 64 octets, in a destination and in a key") {
  std::string local65(65, 'a');
  CHECK(destination_error(std::string(64, 'a') + "@gmail.com").empty());
  CHECK(destination_error(local65 + "@gmail.com") ==
        destination_report(local65 + "@gmail.com", local65 + "@gmail.com", "local part is 65 octets, the limit is 64"));
  CHECK(errors("[domains.\"example.com\".addresses]\n" + local65 + " = \"x@gmail.com\"\n") ==
        "t.toml:2:1: error: address \"" + local65 + "\" is not a valid local part: local part is 65 octets, the limit is 64\n" +
            " 2 | " + local65 + " = \"x@gmail.com\"\n   | ^\n");
}

TEST_CASE("refuses a domain over 253 octets, as a destination and as a key") {
  std::string label(63, 'd');
  std::string domain253 = label + "." + label + "." + label + "." + std::string(61, 'd');
  std::string domain254 = domain253 + "d";
  CHECK(destination_error("x@" + domain253).empty());
  CHECK(destination_error("x@" + domain254) ==
        destination_report("x@" + domain254, "x@" + domain254, "domain is 254 octets, the limit is 253"));
  CHECK(errors("[domains.\"" + domain254 + "\"]\ncatch_all = \"x@gmail.com\"\n") ==
        "t.toml:1:10: error: domain \"" + domain254 + "\" is not a valid domain name: domain is 254 octets, the limit is 253\n" +
            " 1 | [domains.\"" + domain254 + "\"]\n   |          ^\n");
}

TEST_CASE("rejects a '*' anywhere but at the end of a key") {
  CHECK(errors(R"([domains."example.com".addresses]
"team-*" = "x@gmail.com"
"a*b" = "x@gmail.com"
"**" = "x@gmail.com"
"*" = "x@gmail.com"
)") == R"(t.toml:3:1: error: address "a*b": '*' is only allowed at the end of a key (a prefix wildcard like "team-*")
 3 | "a*b" = "x@gmail.com"
   | ^
t.toml:4:1: error: address "**": '*' is only allowed at the end of a key (a prefix wildcard like "team-*")
 4 | "**" = "x@gmail.com"
   | ^
t.toml:5:1: error: address "*" would match everything: write catch_all = "..." in the domain instead
 5 | "*" = "x@gmail.com"
   | ^
)");
}

TEST_CASE("rejects a size with an unknown unit") {
  CHECK(compile(R"([relay]
hostname = "mx.example.net"
srs_domain = "example.net"
max_message_size = "25XB"
[domains."example.com"]
catch_all = "x@gmail.com"
)").render_errors() == R"(t.toml:4:20: error: bad size "25XB" (expected a number of bytes or a number with B, KB, MB, GB, KiB, MiB or GiB, like "25MiB")
 4 | max_message_size = "25XB"
   |                    ^
)");
  CHECK(parse_size("25MiB") == 25u << 20);
  CHECK(parse_size("10MB") == 10'000'000u);
  CHECK(parse_size("65536") == 65536u);
  CHECK_FALSE(parse_size("MiB").has_value());
  CHECK_FALSE(parse_size("-1").has_value());
  CHECK_FALSE(parse_size("99999999999999999999GiB").has_value());
}

TEST_CASE("rejects bad listen addresses, each at its own column") {
  CHECK(compile(R"([relay]
hostname = "mx.example.net"
srs_domain = "example.net"
listen = ["0.0.0.0:25", "1.2.3.4", "[::]:99999", "::1:25", "mx.example.net:25"]
[domains."example.com"]
catch_all = "x@gmail.com"
)").render_errors() == R"(t.toml:4:25: error: bad listen address "1.2.3.4" (expected IP:port like "0.0.0.0:25" or "[::]:25")
 4 | listen = ["0.0.0.0:25", "1.2.3.4", "[::]:99999", "::1:25", "mx.example.net:25"]
   |                         ^
t.toml:4:36: error: bad listen address "[::]:99999" (expected IP:port like "0.0.0.0:25" or "[::]:25")
 4 | listen = ["0.0.0.0:25", "1.2.3.4", "[::]:99999", "::1:25", "mx.example.net:25"]
   |                                    ^
t.toml:4:50: error: bad listen address "::1:25" (expected IP:port like "0.0.0.0:25" or "[::]:25")
 4 | listen = ["0.0.0.0:25", "1.2.3.4", "[::]:99999", "::1:25", "mx.example.net:25"]
   |                                                  ^
t.toml:4:60: error: bad listen address "mx.example.net:25" (expected IP:port like "0.0.0.0:25" or "[::]:25")
 4 | listen = ["0.0.0.0:25", "1.2.3.4", "[::]:99999", "::1:25", "mx.example.net:25"]
   |                                                            ^
)");
}

TEST_CASE("requires hostname and srs_domain, pointing at [relay]") {
  CHECK(compile(R"([relay]
listen = ["0.0.0.0:25"]
[domains."example.com"]
catch_all = "x@gmail.com"
)").render_errors() == R"(t.toml:1:2: error: missing "hostname" in [relay]: the name this relay answers as and users publish as MX, e.g. "mx.example.net"
 1 | [relay]
   |  ^
t.toml:1:2: error: missing "srs_domain" in [relay]: the domain envelope senders are rewritten into, e.g. "example.net"
 1 | [relay]
   |  ^
)");
}

TEST_CASE("requires hostname and srs_domain when there is no [relay] at all") {
  CHECK(compile("[domains.\"example.com\"]\ncatch_all = \"x@gmail.com\"\n").render_errors() ==
        R"(t.toml:1:1: error: missing "hostname" in [relay]: the name this relay answers as and users publish as MX, e.g. "mx.example.net"
 1 | [domains."example.com"]
   | ^
t.toml:1:1: error: missing "srs_domain" in [relay]: the domain envelope senders are rewritten into, e.g. "example.net"
 1 | [domains."example.com"]
   | ^
)");
}

TEST_CASE("rejects the same domain twice in different case") {
  CHECK(errors(R"([domains."example.com"]
catch_all = "x@gmail.com"

[domains."Example.COM"]
catch_all = "y@gmail.com"
)") == R"(t.toml:4:10: error: domain "Example.COM" is already defined at line 1 (domains compare case-insensitively)
 4 | [domains."Example.COM"]
   |          ^
)");
}

TEST_CASE("rejects the same address twice in different case") {
  CHECK(errors(R"([domains."example.com".addresses]
sales = "x@gmail.com"
SALES = "y@gmail.com"
)") == R"(t.toml:3:1: error: address "SALES" is already defined at line 2 (addresses compare case-insensitively)
 3 | SALES = "y@gmail.com"
   | ^
)");
}

TEST_CASE("prints every error, sorted by position, not only the first") {
  CompileOutcome out = compile(R"([domains."example.com".addresses]
b = "not an address"
"x*y" = "x@gmail.com"

[relay]
hostname = "mx.example.net"
srs_domain = "example.net"
max_message_size = "big"
)");
  CHECK_FALSE(out.ok());
  CHECK(out.diagnostics.size() == 3);
  CHECK(out.render_errors() == R"(t.toml:2:5: error: destination "not an address" is not a valid address: missing '@'
 2 | b = "not an address"
   |     ^
t.toml:3:1: error: address "x*y": '*' is only allowed at the end of a key (a prefix wildcard like "team-*")
 3 | "x*y" = "x@gmail.com"
   | ^
t.toml:8:20: error: bad size "big" (expected a number of bytes or a number with B, KB, MB, GB, KiB, MiB or GiB, like "25MiB")
 8 | max_message_size = "big"
   |                    ^
)");
}

}  // namespace emailroute
