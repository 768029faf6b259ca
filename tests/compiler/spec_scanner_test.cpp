// The fast scanner against toml++ (the reference): for generated specs and
// for broken or unusual ones, the scanner either declines or gives exactly
// the Spec that read_spec_toml gives without any diagnostic, every field and
// every position included.
#include "compiler/spec_scanner.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "compiler/spec_reader.h"

namespace emailroute {
namespace {

std::string describe(SourcePos p) { return "@" + std::to_string(p.line) + ":" + std::to_string(p.column); }
std::string describe(const Located<std::string>& s) { return quote(s.value) + describe(s.pos); }

std::string describe(const SpecRoute& r) {
  std::string out = "route" + describe(r.pos) + " action=" + std::to_string(static_cast<int>(r.action)) + " [";
  for (const auto& d : r.destinations) out += describe(d) + " ";
  out += "]";
  if (r.message) out += " message=" + describe(*r.message);
  return out;
}

// Every field of a Spec, positions included, as text that doctest can show.
std::string describe(const Spec& spec) {
  const SpecRelay& r = spec.relay;
  std::string out = "relay " + std::to_string(spec.has_relay) + describe(r.pos) + "\n";
  auto opt = [&](const char* name, const std::optional<Located<std::string>>& v) {
    out += std::string(name) + "=" + (v ? describe(*v) : "-") + "\n";
  };
  opt("hostname", r.hostname), opt("srs_domain", r.srs_domain), opt("srs_secret_file", r.srs_secret_file);
  opt("tls_certificate", r.tls_certificate), opt("tls_key", r.tls_key), opt("dns_resolver", r.dns_resolver);
  opt("deliver_via", r.deliver_via), opt("verified_file", r.verified_file), opt("max_message_size", r.max_message_size);
  for (auto [name, v] : {std::pair{"max_recipients", &r.max_recipients}, {"upstream_port", &r.upstream_port}}) {
    out += std::string(name) + "=" + (*v ? std::to_string((*v)->value) + describe((*v)->pos) : "-") + "\n";
  }
  for (auto [name, v] : {std::pair{"allow_private", &r.allow_private_destinations}, {"require_verified", &r.require_verified}}) {
    out += std::string(name) + "=" + (*v ? std::to_string((*v)->value) + describe((*v)->pos) : "-") + "\n";
  }
  out += "listen" + describe(r.listen_pos) + "=";
  if (r.listen) {
    for (const auto& l : *r.listen) out += describe(l) + " ";
  } else {
    out += "-";
  }
  out += "\n";
  for (const SpecDomain& d : spec.domains) {
    out += "domain " + describe(d.name) + " separators=" + describe(d.separators) + "\n";
    if (d.catch_all) out += "  catch_all " + describe(*d.catch_all) + "\n";
    for (const SpecAddress& a : d.addresses) out += "  " + describe(a.key) + " " + describe(a.route) + "\n";
  }
  return out;
}

struct Tally {
  int accepted = 0, declined = 0;
};

// The property under test, for one input.
void check_same(const std::string& source, Tally& tally) {
  std::optional<Spec> fast = scan_spec(source);
  if (!fast) {
    ++tally.declined;
    return;
  }
  ++tally.accepted;
  Diagnostics diagnostics;
  std::optional<Spec> reference = read_spec_toml(source, "t.toml", diagnostics);
  INFO("source:\n", source);
  REQUIRE(reference.has_value());
  CHECK(diagnostics.empty());
  CHECK(describe(*fast) == describe(*reference));
}

// Random specs made only of what the scanner accepts.
class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  std::string spec() {
    crlf_ = pick(4) == 0;
    std::string out;
    maybe_comments(out);
    if (pick(3) != 0) relay(out);
    int domains = pick(4);
    for (int i = 0; i < domains; ++i) domain(out, i);
    return out;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  const char* nl() const { return crlf_ ? "\r\n" : "\n"; }
  std::string blank() {
    static const char* kBlanks[] = {"", " ", "\t", "  ", " \t "};
    return kBlanks[pick(5)];
  }
  std::string comment() {
    static const char* kComments[] = {"# plain", "#", "# tab\there", "# é 日本 😀", "# \"quoted\" = [x]", "#[relay]"};
    return kComments[pick(6)];
  }
  void end_line(std::string& out) {
    out += blank();
    if (pick(4) == 0) out += comment();
    out += nl();
  }
  void maybe_comments(std::string& out) {
    for (int i = pick(3); i > 0; --i) {
      out += blank();
      if (pick(2) == 0) out += comment();
      out += nl();
    }
  }

  // Text for a basic string body with escapes and non-ASCII characters.
  std::string basic_body() {
    static const char* kPieces[] = {"a", "Z", "0", "-", "_", ".", "@", "+", "*", " ", "é", "日本", "😀",
                                    "\\\"", "\\\\", "\\t", "\\u00e9", "\\u65E5", "\\U0001F600", "\\n", "\\b",
                                    "\\f", "\\r", "'", "#", "=", "[", "]", "{", "}", ",", "\t"};
    std::string out;
    for (int i = pick(8); i >= 0; --i) out += kPieces[pick(32)];
    return out;
  }
  std::string literal_body() {
    static const char* kPieces[] = {"a", "x", "\\", "\\n", "\"", "é", "日", "@", "*", " ", "\t", "#", "."};
    std::string out;
    for (int i = pick(8); i >= 0; --i) out += kPieces[pick(13)];
    return out;
  }
  std::string string_value() { return pick(3) == 0 ? "'" + literal_body() + "'" : "\"" + basic_body() + "\""; }
  std::string address() {
    static const char* kAddresses[] = {"\"a@b.test\"", "'x@y.test'", "\"\\u00e9@z.test\"", "\"日本@例え.jp\"",
                                       "\"\"", "\"team@company.test\""};
    return pick(3) == 0 ? string_value() : kAddresses[pick(6)];
  }
  std::string key() {
    int kind = pick(3);
    if (kind == 0) {
      static const char kBare[] = "abcXYZ019_-";
      std::string out;
      for (int i = pick(6); i >= 0; --i) out += kBare[pick(11)];
      return out;
    }
    if (kind == 1) return "\"" + basic_body() + "\"";
    return "'" + literal_body() + "'";
  }
  std::string array(bool multiline) {
    std::string out = "[" + blank();
    int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (multiline && pick(3) == 0) out += nl() + blank();
      if (multiline && pick(5) == 0) out += comment() + nl() + blank();
      out += address() + blank();
      if (i + 1 < n || pick(2) == 0) out += "," + blank();
    }
    if (multiline && pick(3) == 0) out += nl();
    return out + "]";
  }
  std::string route() {
    switch (pick(5)) {
      case 0: return address();
      case 1: return array(true);
      case 2: return "{" + blank() + "action" + blank() + "=" + blank() + "\"drop\"" + blank() + "}";
      case 3: {
        std::string a = "action = 'reject'", m = "message = " + string_value();
        if (pick(2) == 0) return "{ " + a + " }";
        return pick(2) == 0 ? "{ " + a + ", " + m + " }" : "{" + m + "," + a + "}";
      }
      default: {
        std::string a = "action = \"forward\"", t = "\"to\" = " + (pick(2) == 0 ? address() : array(false));
        return pick(2) == 0 ? "{ " + a + ", " + t + " }" : "{ " + t + " ,  " + a + "}";
      }
    }
  }
  void relay(std::string& out) {
    out += blank() + "[" + blank() + (pick(2) == 0 ? "relay" : "\"relay\"") + blank() + "]";
    end_line(out);
    static const char* kStrings[] = {"hostname", "srs_domain", "srs_secret_file", "tls_certificate", "tls_key",
                                     "dns_resolver", "deliver_via", "verified_file"};
    for (const char* k : kStrings) {
      if (pick(2) == 0) out += blank() + k + blank() + "=" + blank() + string_value(), end_line(out);
    }
    static const char* kIntegers[] = {"0", "1", "25", "100", "65535", "123456789012"};
    if (pick(2) == 0) out += "max_recipients = " + std::string(kIntegers[pick(6)]), end_line(out);
    if (pick(2) == 0) out += "upstream_port=" + std::string(kIntegers[pick(6)]), end_line(out);
    if (pick(2) == 0) out += "max_message_size = " + (pick(2) == 0 ? string_value() : kIntegers[pick(6)]), end_line(out);
    if (pick(2) == 0) out += "require_verified = " + std::string(pick(2) == 0 ? "true" : "false"), end_line(out);
    if (pick(2) == 0) out += "allow_private_destinations\t=\tfalse", end_line(out);
    if (pick(2) == 0) out += "listen = " + (pick(3) == 0 ? address() : array(true)), end_line(out);
    maybe_comments(out);
  }
  void domain(std::string& out, int index) {
    // Distinct names; the random part varies their spelling and escapes.
    std::string name = "\"d" + std::to_string(index) + basic_body() + "\"";
    if (pick(4) == 0) name = "'d" + std::to_string(index) + literal_body() + "'";
    if (pick(2) == 0) {
      out += "[domains." + name + "]";
      end_line(out);
      if (pick(2) == 0) out += "catch_all = " + route(), end_line(out);
      if (pick(2) == 0) out += "subaddress_separator = " + string_value(), end_line(out);
      maybe_comments(out);
    }
    out += "[" + blank() + "domains" + blank() + "." + blank() + name + blank() + "." + blank() + "addresses" + blank() + "]";
    end_line(out);
    for (int i = pick(8); i > 0; --i) {
      out += blank() + key() + blank() + "=" + blank() + route();
      end_line(out);
      if (pick(5) == 0) maybe_comments(out);
    }
  }

  std::mt19937 rng_;
  bool crlf_ = false;
};

// Edits that break a spec or take it outside the subset.
std::string mutate(std::string s, std::mt19937& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  static const std::string kInserts[] = {std::string(1, '\0'), "\r", "\n", "\xEF\xBB\xBF", ".", "\"", "'", "\\",
                                   "#", "\x7F", "\xFF", "\xC0\x80", "\xED\xA0\x80", "=", "[", "]", "{", "}", ",",
                                   " ", "\\u", "\\uD800", "\\U00110000", "\\x41", "\\e", "\"\"\"", "'''", "\x01",
                                   "a.b", "1_000", "0x10", "+1", "1.5", "[[x]]", "\t", "é", "\x80"};
  constexpr std::size_t kInsertCount = sizeof(kInserts) / sizeof(kInserts[0]);
  if (s.empty()) return s;
  switch (pick(6)) {
    case 0:  // truncate
      s.resize(pick(s.size()));
      break;
    case 1: {  // insert something
      s.insert(pick(s.size() + 1), kInserts[pick(kInsertCount)]);
      break;
    }
    case 2:  // delete a byte
      s.erase(pick(s.size()), 1);
      break;
    case 3: {  // repeat a line (duplicate keys, headers twice)
      std::size_t start = s.rfind('\n', pick(s.size()));
      start = start == std::string::npos ? 0 : start + 1;
      std::size_t end = s.find('\n', start);
      end = end == std::string::npos ? s.size() : end + 1;
      std::string line = s.substr(start, end - start);
      if (!line.empty() && line.back() != '\n') line += '\n';
      s.insert(end == s.size() && s.back() != '\n' ? (s += '\n', s.size()) : end, line);
      break;
    }
    case 4:  // replace a byte
      s[pick(s.size())] = static_cast<char>(pick(256));
      break;
    default:  // append a line
      s += pick(2) == 0 ? "\n[domains.\"x\"]\n" : "\nhostname = \"again\"\n";
      break;
  }
  return s;
}

}  // namespace

TEST_CASE("the scanner reads generated specs exactly as toml++ does") {
  Tally tally;
  for (unsigned seed = 0; seed < 3000; ++seed) {
    Generator generator(seed);
    check_same(generator.spec(), tally);
  }
  MESSAGE("generated: ", tally.accepted, " accepted, ", tally.declined, " declined");
  // Keys are random, so a few collide (a TOML error the scanner declines);
  // nearly all must take the fast path, or the test proves nothing.
  CHECK(tally.accepted > 2700);
}

TEST_CASE("the scanner declines or agrees on broken and unusual specs") {
  Tally tally;
  std::mt19937 rng(20261128);
  for (unsigned seed = 0; seed < 1500; ++seed) {
    std::string base = Generator(seed).spec();
    for (int round = 0; round < 20; ++round) {
      std::string s = base;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) s = mutate(std::move(s), rng);
      check_same(s, tally);
    }
  }
  MESSAGE("mutated: ", tally.accepted, " accepted, ", tally.declined, " declined");
  CHECK(tally.declined > 0);
}

TEST_CASE("the scanner agrees at every truncation of a spec") {
  Tally tally;
  std::string spec =
      "# relay\r\n[relay]\r\nhostname = \"mx.example.net\" # banner\r\nlisten = [\"0.0.0.0:25\",\r\n  '[::]:25', ]\r\n"
      "max_recipients = 100\r\nrequire_verified = true\r\n\r\n[domains.\"example.com\"]\r\ncatch_all = "
      "{ action = \"reject\", message = \"gone\" }\r\n[domains.\"example.com\".addresses]\r\nsales = \"a@b.test\"\r\n"
      "\"s\\u00e9\" = [ 'x@y.test' ]\r\nnoreply = { action = \"drop\" }\r\n";
  for (std::size_t n = 0; n <= spec.size(); ++n) check_same(spec.substr(0, n), tally);
  CHECK(tally.accepted > 0);
}

TEST_CASE("the scanner declines what it leaves to toml++") {
  const char* kDeclined[] = {
      "\xEF\xBB\xBF[relay]\n",                              // BOM
      "[relay]\nhostname = \"a\"\nhostname = \"b\"\n",     // duplicate key
      "[relay]\n[relay]\n",                                 // table twice
      "[domains.\"a\"]\n[domains.\"a\"]\n",                 // domain twice
      "[domains.\"a\".addresses]\nx = \"1\"\nx = \"2\"\n",  // duplicate address
      "[domains.\"a\".addresses]\nx = \"1\"\n'x' = \"2\"\n",
      "[domains.a.b]\n",                                    // dotted domain
      "[domains.\"a\".addresses]\nfirst.last = \"x\"\n",    // dotted key
      "[relay]\nhostname = \"a\\qb\"\n",                    // invalid escape
      "[relay]\nhostname = \"a\\uD800\"\n",                 // surrogate
      "[relay]\nhostname = \"\"\"a\"\"\"\n",                // multi-line string
      "[relay]\nhostname = \"a\" # bell \x07\n",            // control char in a comment
      "[relay]\rhostname = \"a\"\n",                        // lone CR
      "[relay]\nmax_recipients = 1_000\n",
      "[relay]\nmax_recipients = 0x10\n",
      "[relay]\ncolour = \"blue\"\n",                       // unknown key
      "[relay]\nhostname = 1\n",                            // wrong type
      "[domains.\"a\".addresses]\nx = { action = \"bounce\" }\n",
      "[domains.\"a\".addresses]\nx = { action = \"drop\", to = \"a@b\" }\n",
      "[domains.\"a\".addresses]\nx = { }\n",
      "[domains.\"a\".addresses]\nx = [ \"a\", 1 ]\n",
      "relay.hostname = \"a\"\n",                           // root key
      "[[domains]]\n",
  };
  for (const char* s : kDeclined) {
    INFO(s);
    CHECK_FALSE(scan_spec(s).has_value());
  }
  // A NUL inside a string, spelled with its length.
  CHECK_FALSE(scan_spec(std::string_view("[relay]\nhostname = \"a\0\"\n", 24)).has_value());
}

TEST_CASE("the scanner accepts the documented example layout") {
  Tally tally;
  check_same(R"([relay]
hostname = "mx.example.net"          # banner, EHLO, Received
listen = ["0.0.0.0:25", "[::]:25"]   # default
max_message_size = "25MiB"
max_recipients = 100
allow_private_destinations = false

[domains."example.com"]
catch_all = "owner@gmail.com"
subaddress_separator = "+"

[domains."example.com".addresses]
sales   = "alice@gmail.com"
support = ["alice@gmail.com", "bob@outlook.com"]
noreply = { action = "drop" }
"old-*" = { action = "reject", message = "This address is retired" }
"team-*" = "team@company.test"
)", tally);
  CHECK(tally.accepted == 1);
}

TEST_CASE("the scanner reads every example and golden dump as toml++ does") {
  namespace fs = std::filesystem;
  int files = 0;
  for (const char* folder : {"examples", "tests/golden"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(EMAILROUTE_SOURCE_DIR) / folder)) {
      if (entry.path().extension() != ".toml") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      INFO(entry.path().string());
      Tally tally;
      check_same(text.str(), tally);
      CHECK(tally.accepted == 1);  // these are plain files: the fast path must take them
      ++files;
    }
  }
  CHECK(files >= 6);
}

}  // namespace emailroute
