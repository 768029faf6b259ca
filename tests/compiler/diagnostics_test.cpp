// Rendering of diagnostics: sorted by position, the caret under the right
// character whatever the line holds (UTF-8, tabs), nothing from the input
// that could drive the terminal, and the "did you mean" matcher.
#include "compiler/diagnostics.h"

#include <doctest/doctest.h>

namespace emailroute {

TEST_CASE("renders errors sorted by position with the line and a caret") {
  Diagnostics d;
  d.error({2, 3}, "second");
  d.error({1, 1}, "first");
  CHECK(d.render("f.toml", "abc\ndefg\n") == R"(f.toml:1:1: error: first
 1 | abc
   | ^
f.toml:2:3: error: second
 2 | defg
   |   ^
)");
}

TEST_CASE("puts the caret under the character the column counts, after UTF-8 and tabs") {
  Diagnostics d;
  d.error({1, 10}, "here");  // toml++ counts columns in code points
  d.error({2, 3}, "tab");
  CHECK(d.render("f.toml", "\"café\" = 1\n\t\tx\n") == "f.toml:1:10: error: here\n 1 | \"café\" = 1\n   |          ^\n"
                                                         "f.toml:2:3: error: tab\n 2 | \t\tx\n   | \t\t^\n");
}

TEST_CASE("shows control characters of the source line as '?'") {
  Diagnostics d;
  d.error({1, 5}, "x");
  CHECK(d.render("f.toml", "a = \"\x1b[31m\"\r\n") == "f.toml:1:5: error: x\n 1 | a = \"?[31m\"\n   |     ^\n");
}

TEST_CASE("prints the header alone when the position has no source line") {
  Diagnostics d;
  d.error({0, 0}, "somewhere");
  d.error({9, 4}, "past the end");
  CHECK(d.render("f.toml", "a = 1\n") == "f.toml:0:0: error: somewhere\nf.toml:9:4: error: past the end\n");
}

TEST_CASE("quotes text with control characters escaped") {
  CHECK(quote("a\r\n\x7f\"b") == "\"a\\x0d\\x0a\\x7f\"b\"");
}

TEST_CASE("suggests near misses and nothing for words far from every key") {
  std::vector<std::string_view> known = {"catch_all", "subaddress_separator", "addresses"};
  CHECK(closest_match("catchall", known) == "catch_all");
  CHECK(closest_match("Catch-All", known) == "catch_all");
  CHECK(closest_match("adresses", known) == "addresses");
  CHECK(closest_match("colour", known).empty());
  CHECK(closest_match("a", {"b"}).empty());
}

}  // namespace emailroute
