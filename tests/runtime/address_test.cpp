// Mailbox syntax: what must never pass because it could smuggle SMTP syntax.
#include "runtime/address.h"

#include <doctest/doctest.h>

#include <string>

namespace emailroute {
using namespace std::string_literals;

TEST_CASE("refuses NUL, CR, LF and other controls anywhere in a mailbox") {
  for (std::string bad : {"a\0b@example.com"s, "\0@example.com"s, "a@exa\0mple.com"s, "a\r@example.com"s,
                          "a\n@example.com"s, "a\t@example.com"s, "a\x7f@example.com"s, "a@example.com\r\n"s}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_mailbox(bad).ok());
  }
  CHECK_FALSE(check_dot_string("a\0b"s).ok());
  CHECK(check_dot_string("a!#$%&'*+-/=?^_`{|}~b").ok());
}

}  // namespace emailroute
