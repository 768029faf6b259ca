// The trie writer lays keys out as runtime/table_format.md says, byte for
// byte, and refuses keys out of order rather than writing a broken trie.
#include "compiler/trie_builder.h"

#include <doctest/doctest.h>

namespace emailroute {
namespace {

TrieValue exact(std::uint32_t route, std::optional<std::uint32_t> wildcard = std::nullopt) {
  TrieValue v;
  v.exact = route;
  v.wildcard = wildcard;
  return v;
}

TrieValue domain(std::uint32_t index) {
  TrieValue v;
  v.domain = index;
  return v;
}

}  // namespace

TEST_CASE("writes the trie of the format document's example") {
  std::string out = "prefix";  // the section starts where the buffer ends
  TrieWriter trie(out);
  REQUIRE(trie.add("a.test@", domain(0)));
  REQUIRE(trie.add("a.test@b", exact(1, 7)));
  REQUIRE(trie.add("a.test@c", exact(1)));
  trie.finish();
  using namespace std::string_literals;
  CHECK(out == "prefix"s + "\x09\0\0\0"s + "\x06\x01\x07"s + "\x02\x01"s + "\x19\x07" "a.test@" "\x00\x01" "bc" "\x05\x02"s);
}

TEST_CASE("a key that is a prefix of the next one carries its value and a child") {
  std::string out;
  TrieWriter trie(out);
  REQUIRE(trie.add("a@", domain(0)));
  REQUIRE(trie.add("a@x", exact(2)));
  REQUIRE(trie.add("a@xy", exact(3)));
  trie.finish();
  using namespace std::string_literals;
  // Post-order: "a@xy" (no label: its only byte past "a@x" is the edge 'y'),
  // then "a@x" with that child 2 bytes back, then the root "a@" with "a@x" 5 back.
  CHECK(out == "\x0b\0\0\0"s + "\x02\x03"s + "\x12\x02\x00" "y" "\x02"s + "\x19\x02" "a@" "\x00\x00" "x" "\x05"s);
}

TEST_CASE("refuses keys out of order or repeated") {
  std::string out;
  TrieWriter trie(out);
  REQUIRE(trie.add("b@", domain(0)));
  CHECK_FALSE(trie.add("b@", domain(1)));
  CHECK_FALSE(trie.add("a@", domain(1)));
  CHECK_FALSE(trie.add("b", domain(1)));  // a prefix sorts first
  CHECK(trie.add("b@\xc3\xa9", exact(1)));  // bytes compare unsigned: 0xC3 after '@'
  CHECK_FALSE(trie.add("b@z", exact(1)));
}

}  // namespace emailroute
