// Property test of the compiler and the table reader together: random specs
// (thousands of addresses, wildcards, subaddress separators, catch-alls, mixed
// case, several domains, drops, rejects) are compiled from TOML text, and every
// lookup the table answers is compared with a reference model written here
// from DESIGN.md's resolution order. Also: compile -> dump -> compile gives
// the same bytes, and so does the same spec written in another order.
#include "compiler/table_builder.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "compiler/table_dump.h"
#include "tests/compiler/compile_helpers.h"

namespace emailroute {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// --- the reference model -------------------------------------------------------

struct RefRoute {
  RouteAction action = RouteAction::kForward;
  std::vector<std::string> written;       // as in the spec, local addresses included
  std::vector<std::string> destinations;  // expected: local ones resolved
  std::string message;
  bool has_local = false;
};

struct RefDomain {
  std::string name;  // as written
  std::string separators = "+";
  std::optional<RefRoute> catch_all;
  std::map<std::string, RefRoute> exact, wildcard;  // folded local part / folded prefix
};

struct Expected {
  MatchKind kind = MatchKind::kNotOurDomain;
  const RefRoute* route = nullptr;
  std::size_t matched_length = 0;
};

// DESIGN.md: exact; the part before the first separator; the longest prefix
// wildcard (on the full local part, which covers the base too); catch-all; unknown.
Expected reference_resolve(const std::map<std::string, RefDomain>& model, std::string_view local, std::string_view domain) {
  auto d = model.find(lower(domain));
  if (d == model.end() || local.empty()) return {};
  std::string l = lower(local);
  if (auto e = d->second.exact.find(l); e != d->second.exact.end()) return {MatchKind::kExact, &e->second, l.size()};
  std::size_t sep = d->second.separators.empty() ? std::string::npos : l.find_first_of(d->second.separators);
  if (sep != std::string::npos) {
    if (auto e = d->second.exact.find(l.substr(0, sep)); e != d->second.exact.end()) return {MatchKind::kSubaddress, &e->second, sep};
  }
  for (std::size_t n = l.size() + 1; n-- > 0;) {
    if (auto w = d->second.wildcard.find(l.substr(0, n)); w != d->second.wildcard.end()) return {MatchKind::kWildcard, &w->second, n};
  }
  if (d->second.catch_all) return {MatchKind::kCatchAll, &*d->second.catch_all, 0};
  return {MatchKind::kUnknown};
}

// --- random specs ----------------------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  bool percent(std::size_t p) { return below(100) < p; }
  std::string mixed_case(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'a' && c <= 'z' && percent(30)) c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
  }
  // A short local part over a small alphabet, so that keys share prefixes.
  std::string local(std::size_t max_length = 10) {
    static constexpr std::string_view kChars = "aaabbbcd19-_.+=";
    std::string s;
    for (std::size_t n = 1 + below(max_length); s.size() < n;) {
      char c = kChars[below(kChars.size())];
      if (c == '.' && (s.empty() || s.back() == '.')) continue;
      s.push_back(c);
    }
    if (s.back() == '.') s.pop_back();
    return mixed_case(s);
  }
  RefRoute route() {
    RefRoute r;
    std::size_t kind = below(10);
    if (kind == 0) {
      r.action = RouteAction::kDrop;
    } else if (kind <= 2) {
      r.action = RouteAction::kReject;
      if (kind == 2) r.message = "Gone \"away\" \\ " + std::to_string(below(50));
    } else {
      std::size_t first = below(40), count = 1 + below(3);
      for (std::size_t i = 0; i < count; ++i) {
        r.destinations.push_back(mixed_case("user" + std::to_string(first + i) + "@dest" + std::to_string(below(5)) + ".example"));
      }
      r.written = r.destinations;
    }
    return r;
  }
  template <class T>
  void shuffle(std::vector<T>& v) { std::shuffle(v.begin(), v.end(), rng_); }

 private:
  std::mt19937_64 rng_;
};

std::string toml_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string route_toml(const RefRoute& r) {
  switch (r.action) {
    case RouteAction::kDrop:
      return "{ action = \"drop\" }";
    case RouteAction::kReject:
      return r.message.empty() ? "{ action = \"reject\" }" : "{ action = \"reject\", message = " + toml_quoted(r.message) + " }";
    case RouteAction::kForward:
      break;
  }
  std::string out = "[";
  for (const std::string& d : r.written) out += (out.size() > 1 ? ", " : "") + toml_quoted(d);
  return out + "]";
}

struct RandomSpec {
  std::map<std::string, RefDomain> model;  // by folded name
  std::vector<std::pair<std::string, std::string>> keys;  // (domain as written, key as written)
  std::string text(Generator& g) const;  // the TOML, addresses in a random order
};

// Some forwards also name an address of the config itself. The compiler
// replaces it by what it resolves to, which the reference model computes. Its
// target forwards outside only, so chains are one hop and never loop.
void add_local_destinations(Generator& g, std::map<std::string, RefDomain>& model) {
  std::vector<RefRoute*> sources;
  for (auto& [name, d] : model) {
    if (d.catch_all) sources.push_back(&*d.catch_all);
    for (auto* map : {&d.exact, &d.wildcard}) {
      for (auto& [key, r] : *map) sources.push_back(&r);
    }
  }
  std::set<const RefRoute*> targets;
  for (RefRoute* r : sources) {
    if (r->action != RouteAction::kForward || targets.count(r) || !g.percent(10)) continue;
    const RefDomain& d = std::next(model.begin(), static_cast<std::ptrdiff_t>(g.below(model.size())))->second;
    std::string local = g.local();
    if (!d.exact.empty() && g.percent(70)) {
      local = std::next(d.exact.begin(), static_cast<std::ptrdiff_t>(g.below(d.exact.size())))->first;
      if (g.percent(30)) local += "+" + g.local(3);
    }
    Expected e = reference_resolve(model, local, lower(d.name));
    if (e.route == nullptr || e.route == r || e.route->action != RouteAction::kForward || e.route->has_local) continue;
    r->written.push_back(g.mixed_case(local) + "@" + d.name);
    for (const std::string& dest : e.route->destinations) {
      bool seen = std::any_of(r->destinations.begin(), r->destinations.end(), [&](const std::string& x) { return lower(x) == lower(dest); });
      if (!seen) r->destinations.push_back(dest);
    }
    r->has_local = true;
    targets.insert(e.route);
  }
}

RandomSpec random_spec(Generator& g, std::size_t addresses_per_domain) {
  static const char* const kDomains[] = {"example.com", "example.co", "ex.example.com", "mail.test", "a.io"};
  static const char* const kSeparators[] = {"+", "-", "+-", "", "=", "+_"};
  RandomSpec spec;
  for (const char* name : kDomains) {
    if (g.percent(25) && !spec.model.empty()) continue;
    RefDomain d;
    d.name = g.mixed_case(name);
    d.separators = kSeparators[g.below(std::size(kSeparators))];
    if (g.percent(50)) d.catch_all = g.route();
    for (std::size_t i = 0; i < addresses_per_domain; ++i) {
      std::string key = g.local();
      bool wildcard = g.percent(15);
      auto& map = wildcard ? d.wildcard : d.exact;
      if (!map.emplace(lower(key), g.route()).second) continue;
      spec.keys.emplace_back(d.name, key + (wildcard ? "*" : ""));
    }
    spec.model.emplace(lower(name), std::move(d));
  }
  add_local_destinations(g, spec.model);
  return spec;
}

std::string RandomSpec::text(Generator& g) const {
  std::vector<std::string> domains;
  for (const auto& [folded_name, d] : model) {
    std::string out = "[domains." + toml_quoted(d.name) + "]\nsubaddress_separator = " + toml_quoted(d.separators) + "\n";
    if (d.catch_all) out += "catch_all = " + route_toml(*d.catch_all) + "\n";
    std::vector<std::string> lines;
    for (const auto& [domain, key] : keys) {
      if (domain != d.name) continue;
      bool wildcard = key.back() == '*';
      const RefRoute& r = (wildcard ? d.wildcard : d.exact).at(lower(key.substr(0, key.size() - wildcard)));
      lines.push_back(toml_quoted(key) + " = " + route_toml(r) + "\n");
    }
    g.shuffle(lines);
    out += "\n[domains." + toml_quoted(d.name) + ".addresses]\n";
    for (const std::string& l : lines) out += l;
    domains.push_back(out + "\n");
  }
  g.shuffle(domains);
  std::string out;
  for (const std::string& d : domains) out += d;
  return out + test::kRelay;
}

}  // namespace

namespace {

// Compares one lookup with the model; returns a description of the difference, or "".
std::string compare(const Table& table, const std::map<std::string, RefDomain>& model, const std::string& local,
                    const std::string& domain) {
  Resolution got = table.resolve(local, domain);
  Expected want = reference_resolve(model, local, domain);
  std::string where = local + "@" + domain + ": ";
  if (got.kind != want.kind) return where + "kind " + std::to_string(int(got.kind)) + ", want " + std::to_string(int(want.kind));
  if (want.route == nullptr) return "";
  if (got.matched_length != want.matched_length) return where + "matched length " + std::to_string(got.matched_length);
  if (got.route.action() != want.route->action) return where + "action differs";
  if (test::destinations(got.route) != want.route->destinations) return where + "destinations differ";
  if (got.route.reject_message() != want.route->message) return where + "reject message differs";
  return "";
}

// The recipients worth asking about for one key: itself in another case,
// subaddressed, wildcard expansions, prefixes, near misses, other domains.
std::vector<std::pair<std::string, std::string>> probes(Generator& g, const std::string& domain, const std::string& key) {
  bool wildcard = key.back() == '*';
  std::string local = key.substr(0, key.size() - wildcard);
  static constexpr std::string_view kSeparators = "+-=_";
  std::string tag = std::string(1, kSeparators[g.below(kSeparators.size())]) + g.local(4);
  std::vector<std::pair<std::string, std::string>> out = {
      {g.mixed_case(local), domain},
      {local + tag, g.mixed_case(domain)},
      {local + g.local(3), domain},
      {local.substr(0, g.below(local.size() + 1)), domain},
      {g.local(), domain},
      {local, "other.test"},
      {local, domain + "m"},
      {local, domain.substr(1)},
  };
  if (wildcard) out.push_back({local, domain});
  return out;
}

// Checks every probe of a random spec; returns the kinds of match seen.
std::set<MatchKind> check_lookups(std::uint64_t seed, std::size_t addresses_per_domain) {
  Generator g(seed);
  RandomSpec spec = random_spec(g, addresses_per_domain);
  CompileOutcome out = test::compile(spec.text(g));
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  Table table = test::table_of(out);
  std::size_t lookups = 0, failures = 0;
  std::set<MatchKind> seen;
  for (const auto& [domain, key] : spec.keys) {
    for (const auto& [l, d] : probes(g, domain, key)) {
      ++lookups;
      seen.insert(table.resolve(l, d).kind);
      std::string diff = compare(table, spec.model, l, d);
      if (!diff.empty() && ++failures <= 10) FAIL_CHECK(diff);
    }
  }
  CHECK(failures == 0);
  CHECK(lookups >= spec.keys.size() * 8);
  std::size_t resolved_locally = 0;
  for (const auto& [name, d] : spec.model) {
    for (const auto& [key, r] : d.exact) resolved_locally += r.has_local;
  }
  CHECK((addresses_per_domain < 100 || resolved_locally > 10));
  return seen;
}

}  // namespace

TEST_CASE("every lookup in random tables agrees with the reference model") {
  std::set<MatchKind> seen;
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    CAPTURE(seed);
    seen.merge(check_lookups(seed, 500));
  }
  // The probes reach every outcome, or the comparison would prove little.
  CHECK(seen.size() == 6);
}

TEST_CASE("small random tables agree with the reference model too") {
  // Few keys make shallow tries with long labels, a different shape.
  for (std::uint64_t seed = 100; seed < 200; ++seed) {
    CAPTURE(seed);
    check_lookups(seed, 1 + seed % 7);
  }
}

TEST_CASE("compiling the dump of a table gives the same bytes") {
  for (std::uint64_t seed : {7, 8, 9}) {
    CAPTURE(seed);
    Generator g(seed);
    RandomSpec spec = random_spec(g, 400);
    CompileOutcome first = test::compile(spec.text(g));
    REQUIRE_MESSAGE(first.ok(), first.render_errors());
    std::string dump = dump_table(test::table_of(first));
    CompileOutcome second = compile_source(dump, "dump.toml", "/");
    REQUIRE_MESSAGE(second.ok(), second.render_errors());
    CHECK(second.table == first.table);
    CHECK(dump_table(test::table_of(second)) == dump);
  }
}

TEST_CASE("the same spec written in another order compiles to the same bytes") {
  Generator g(11);
  RandomSpec spec = random_spec(g, 300);
  CompileOutcome first = test::compile(spec.text(g));
  CompileOutcome second = test::compile(spec.text(g));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.source != second.source);
  CHECK(first.table == second.table);
}

}  // namespace emailroute
