// The table reader treats its file as hostile: a table truncated at every
// length, with a byte flipped anywhere, or edited and re-signed with a valid
// checksum is refused with "not an emailroute table (...)" or, when the edit
// happens to be harmless, read without ever leaving the bytes (ASan/UBSan).
#include "runtime/table.h"

#include <doctest/doctest.h>

#include <cstring>

#include "compiler/table_dump.h"
#include "tests/compiler/compile_helpers.h"

namespace emailroute {
namespace tf = table_format;
namespace {

using Bytes = std::vector<std::uint8_t>;
using Strings = std::vector<std::string>;

// Every section has content: fan-out, drop, reject with and without text,
// wildcards, catch-alls, two separators, optional settings.
Bytes sample_table() {
  CompileOutcome out = test::compile(R"([relay]
hostname = "mx.example.net"
srs_domain = "example.net"
listen = ["127.0.0.1:2525", "[::1]:2525"]
deliver_via = "127.0.0.1:2626"
dns_resolver = "127.0.0.1:53"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[domains."example.com"]
catch_all = "owner@gmail.com"
subaddress_separator = "+-"

[domains."example.com".addresses]
sales = "alice@gmail.com"
support = ["alice@gmail.com", "bob@outlook.com"]
noreply = { action = "drop" }
"old-*" = { action = "reject", message = "This address is retired" }
"team-*" = "team@company.test"
spam = { action = "reject" }

[domains."example.org".addresses]
info = "carol@dest.example"
)");
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  return Bytes(out.table.begin(), out.table.end());
}

std::size_t section_offset(const Bytes& b, tf::Section s) { return tf::get_fixed(b.data() + 16 + 8 * std::size_t(s), 4); }
std::size_t section_size(const Bytes& b, tf::Section s) { return tf::get_fixed(b.data() + 20 + 8 * std::size_t(s), 4); }

void re_sign(Bytes& b) {
  std::uint64_t sum = tf::checksum(b);
  for (int i = 0; i < 8; ++i) b[tf::kChecksumOffset + i] = static_cast<std::uint8_t>(sum >> (8 * i));
}

void put_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The reason from_bytes gives for refusing `b`, or "accepted".
std::string refusal(const Bytes& b) {
  auto t = Table::from_bytes(b);
  return t.ok() ? "accepted" : t.status().message();
}

bool is_table_refusal(const std::string& reason) { return reason.rfind("not an emailroute table (", 0) == 0 && reason.back() == ')'; }

// Reads everything a relay or `dump` would read, so that ASan sees any stray access.
void exercise(const Table& t) {
  static const char* const kProbes[][2] = {{"sales", "example.com"}, {"support+x", "EXAMPLE.com"}, {"old-bob", "example.com"},
                                           {"team-a-b", "example.com"}, {"nobody", "example.com"}, {"info", "example.org"},
                                           {"x", "example.org"}, {"a", "other.test"}, {"noreply-x", "example.com"}};
  for (const auto& p : kProbes) {
    Resolution r = t.resolve(p[0], p[1]);
    (void)test::destinations(r.route);
    (void)r.route.reject_message().size();
  }
  (void)t.settings();
  (void)dump_table(t);
}

// Where the child offsets of the trie node at `node` (relative to the trie) start, and their width.
std::pair<std::size_t, int> child_offsets_of(const Bytes& b, std::size_t node) {
  std::size_t p = section_offset(b, tf::Section::kTrie) + node;
  std::uint8_t flags = b[p++];
  auto skip_varint = [&] { while (b[p++] & 0x80) {} };
  if (flags & tf::kNodeLabel) {
    std::size_t len = b[p];  // labels in the sample are short: one-byte varint
    skip_varint();
    p += len;
  }
  for (std::uint8_t f : {tf::kNodeExact, tf::kNodeWildcard, tf::kNodeDomain}) {
    if (flags & f) skip_varint();
  }
  REQUIRE((flags & tf::kNodeChildren) != 0);
  std::size_t children = b[p++] + 1u;
  return {p + children, ((flags >> tf::kNodeWidthShift) & 3) + 1};
}

std::size_t trie_root(const Bytes& b) { return tf::get_fixed(b.data() + section_offset(b, tf::Section::kTrie), 4); }

// `b` with its trie (the last section) replaced by `trie`, the header fixed and re-signed.
Bytes with_trie(Bytes b, const std::string& trie) {
  std::size_t at = section_offset(b, tf::Section::kTrie);
  b.resize(at);
  b.insert(b.end(), trie.begin(), trie.end());
  put_u32(b, 12, static_cast<std::uint32_t>(b.size()));
  put_u32(b, 20 + 8 * 4, static_cast<std::uint32_t>(trie.size()));
  re_sign(b);
  return b;
}

// A trie node without label or values whose children are `keys`, all at `distance` bytes back.
std::string branch(std::string_view keys, std::uint8_t distance) {
  std::string node = {static_cast<char>(tf::kNodeChildren), static_cast<char>(keys.size() - 1)};
  node += keys;
  return node + std::string(keys.size(), static_cast<char>(distance));
}

// The trie: its root offset, a leaf "x" with route 0 at offset 4, then `nodes`, the last being the root.
std::string trie_of(const std::vector<std::string>& nodes) {
  std::string body = {static_cast<char>(tf::kNodeLabel | tf::kNodeExact), 1, 'x', 0};
  for (std::size_t i = 0; i + 1 < nodes.size(); ++i) body += nodes[i];
  std::string trie;
  tf::put_u32(trie, static_cast<std::uint32_t>(4 + body.size()));
  return trie + body + nodes.back();
}

}  // namespace

TEST_CASE("resolves in the order exact, subaddress, wildcard, catch-all, unknown") {
  auto t = Table::from_bytes(sample_table());
  REQUIRE(t.ok());
  CHECK(t->resolve("Sales", "Example.COM").kind == MatchKind::kExact);
  CHECK(test::destinations(t->resolve("support", "example.com").route) == Strings{"alice@gmail.com", "bob@outlook.com"});
  Resolution sub = t->resolve("sales-news+x", "example.com");
  CHECK(sub.kind == MatchKind::kSubaddress);
  CHECK(sub.matched_length == 5);
  Resolution old = t->resolve("old-timer", "example.com");
  CHECK(old.kind == MatchKind::kWildcard);
  CHECK(old.route.reject_message() == "This address is retired");
  CHECK(t->resolve("noreply+old-x", "example.com").route.action() == RouteAction::kDrop);
  CHECK(test::destinations(t->resolve("anyone", "example.com").route) == Strings{"owner@gmail.com"});
  CHECK(t->resolve("anyone", "example.org").kind == MatchKind::kUnknown);
  CHECK(t->resolve("info", "example.net").kind == MatchKind::kNotOurDomain);
  CHECK(t->resolve("info", "example.org@x").kind == MatchKind::kNotOurDomain);
  RelaySettings s = t->settings();
  CHECK(s.listen == std::vector<std::string_view>{"127.0.0.1:2525", "[::1]:2525"});
  CHECK(s.deliver_via == "127.0.0.1:2626");
}

TEST_CASE("refuses the table truncated at every length") {
  Bytes whole = sample_table();
  for (std::size_t n = 0; n < whole.size(); ++n) {
    std::string why = refusal(Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n)));
    CAPTURE(n);
    CHECK_MESSAGE(is_table_refusal(why), why);
  }
  CHECK(refusal(Bytes(whole.begin(), whole.begin() + 10)) == "not an emailroute table (file is 10 bytes, shorter than the header)");
  CHECK(refusal(Bytes(whole.begin(), whole.end() - 1)) ==
        "not an emailroute table (header says " + std::to_string(whole.size()) + " bytes, file has " +
            std::to_string(whole.size() - 1) + " (truncated?))");
}

TEST_CASE("refuses a byte flipped anywhere in the file") {
  Bytes whole = sample_table();
  for (std::size_t at = 0; at < whole.size(); ++at) {
    for (std::uint8_t mask : {0x01, 0x80}) {
      Bytes b = whole;
      b[at] ^= mask;
      std::string why = refusal(b);
      CAPTURE(at);
      CHECK_MESSAGE(is_table_refusal(why), why);
    }
  }
  Bytes b = whole;
  b[section_offset(b, tf::Section::kTrie) + 5] ^= 1;
  CHECK(refusal(b) == "not an emailroute table (bad checksum)");
  b = whole;
  b[0] = 'X';
  CHECK(refusal(b) == "not an emailroute table (bad magic number)");
  b = whole;
  b[8] = 2;
  CHECK(refusal(b) == "not an emailroute table (format version 2, this emailroute reads version 1)");
}

TEST_CASE("refuses or safely reads a flipped byte in every section even when re-signed") {
  Bytes whole = sample_table();
  for (std::size_t s = 0; s < tf::kSectionCount; ++s) {
    auto section = static_cast<tf::Section>(s);
    std::size_t refused = 0, begin = s == 0 ? 8 : section_offset(whole, section);  // the header counts as section 0's
    std::size_t end = section_offset(whole, section) + section_size(whole, section);
    for (std::size_t at = begin; at < end; ++at) {
      if (at >= tf::kChecksumOffset && at < tf::kHeaderSize) continue;
      for (std::uint8_t mask : {0x01, 0x02, 0x10, 0x40, 0x80, 0xFF}) {
        Bytes b = whole;
        b[at] ^= mask;
        re_sign(b);
        auto t = Table::from_bytes(b);
        CAPTURE(at);
        CAPTURE(int(mask));
        if (t.ok()) {
          exercise(*t);
        } else {
          ++refused;
          CHECK_MESSAGE(is_table_refusal(t.status().message()), t.status().message());
        }
      }
    }
    CAPTURE(s);
    CHECK(refused > 0);
  }
}

TEST_CASE("refuses re-signed tables with hostile offsets and content") {
  const Bytes whole = sample_table();
  const std::size_t trie = section_offset(whole, tf::Section::kTrie);
  auto edited = [&](auto edit) {
    Bytes b = whole;
    edit(b);
    re_sign(b);
    return refusal(b);
  };
  CHECK(edited([](Bytes& b) { put_u32(b, 16, 65); }) == "not an emailroute table (section 0 out of place)");
  CHECK(edited([&](Bytes& b) { put_u32(b, 20 + 8 * 4, 0xFFFFFFF0); }) == "not an emailroute table (section 4 out of place)");
  CHECK(edited([&](Bytes& b) { put_u32(b, trie, static_cast<std::uint32_t>(section_size(b, tf::Section::kTrie))); }) ==
        "not an emailroute table (trie root does not point at a node)");
  CHECK(edited([&](Bytes& b) { put_u32(b, trie, static_cast<std::uint32_t>(trie_root(b) + 1)); }) ==
        "not an emailroute table (trie root does not point at a node)");
  auto [offsets, width] = child_offsets_of(whole, trie_root(whole));
  const std::string child_error = "not an emailroute table (trie child offset does not point at an earlier node)";
  // Child offsets are backward distances: past the start of the trie, zero (the node itself), and a forward one.
  CHECK(edited([&, at = offsets, w = width](Bytes& b) { for (int i = 0; i < w; ++i) b[at + i] = 0xFF; }) == child_error);
  CHECK(edited([&, at = offsets, w = width](Bytes& b) { for (int i = 0; i < w; ++i) b[at + i] = 0; }) == child_error);
  CHECK(edited([&, at = offsets](Bytes& b) { b[at] = static_cast<std::uint8_t>(b[at] - 1); }) == child_error);
  const std::size_t routes = section_offset(whole, tf::Section::kRoutes);
  CHECK(edited([&](Bytes& b) { b[routes] = 9; }) == "not an emailroute table (unknown route kind 9)");
  CHECK(edited([&](Bytes& b) { b[routes + 1] = 0; }) == "not an emailroute table (bad destination count)");
  CHECK(edited([&](Bytes& b) {
          auto at = std::search(b.begin(), b.end(), std::begin("bob@outlook"), std::end("bob@outlook") - 1);
          REQUIRE(at != b.end());
          at[3] = '\r';
        }) == "not an emailroute table (control character or bad UTF-8 in string pool)");
  const std::size_t domains = section_offset(whole, tf::Section::kDomains);
  CHECK(edited([&](Bytes& b) { put_u32(b, domains + 4, 1); }) == "not an emailroute table (catch-all route reference out of range)");
  CHECK(edited([&](Bytes& b) { put_u32(b, domains, 0x7FFFFFFF); }) == "not an emailroute table (domain string reference out of range)");
  CHECK(edited([&](Bytes& b) { put_u32(b, 12, static_cast<std::uint32_t>(b.size() + 1)); }) ==
        "not an emailroute table (header says " + std::to_string(whole.size() + 1) + " bytes, file has " +
            std::to_string(whole.size()) + " (truncated?))");
}

TEST_CASE("refuses a trie whose nodes share a child") {
  // Each node names the one below twice: a walk of every key would take 2^depth steps.
  std::vector<std::string> nodes;
  for (int i = 0; i < 64; ++i) nodes.push_back(branch("ab", i == 0 ? 4 : 6));
  CHECK(refusal(with_trie(sample_table(), trie_of(nodes))) == "not an emailroute table (trie node with two parents)");
}

TEST_CASE("refuses a trie deeper than the longest possible key") {
  // example.com@ then 'a' 100000 times: no address is that long, and walking it recursively would exhaust the stack.
  std::vector<std::string> nodes(100000, branch("a", 4));
  std::string domain_node = {static_cast<char>(tf::kNodeLabel | tf::kNodeDomain | tf::kNodeChildren), 12};
  domain_node += "example.com@";
  domain_node += {0, 0, 'a', 4};
  nodes.push_back(domain_node);
  nodes.front() = branch("a", 4);
  CHECK(refusal(with_trie(sample_table(), trie_of(nodes))) == "not an emailroute table (trie deeper than the longest address)");
}

TEST_CASE("accepts the longest possible address") {
  std::string label(63, 'd'), domain = label + "." + label + "." + label + "." + std::string(61, 'd'), local(64, 'l');
  CompileOutcome out = test::compile("[domains.\"" + domain + "\".addresses]\n" + local + " = \"x@gmail.com\"\n" + test::kRelay);
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  CHECK(test::table_of(out).resolve(local, domain).kind == MatchKind::kExact);
}

TEST_CASE("open names the file it refuses") {
  test::ScratchDir dir;
  Bytes whole = sample_table();
  std::string path = dir.write("t.table", std::string(whole.begin(), whole.end() - 3));
  auto t = Table::open(path);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == Status::Code::kCorruption);
  CHECK(t.status().message().rfind(path + ": not an emailroute table (header says", 0) == 0);
  path = dir.write("good.table", std::string(whole.begin(), whole.end()));
  CHECK(Table::open(path).ok());
  path = dir.write("empty.table", "");
  CHECK(Table::open(path).status().message() == path + ": not an emailroute table (file is 0 bytes, shorter than the header)");
  CHECK(Table::open(dir.path()).status().code() == Status::Code::kIoError);
}

}  // namespace emailroute
