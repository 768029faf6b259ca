// The routing-table benchmark of issue #2 (run by bench/run_table_bench; the
// figures are in BENCHMARKS.md). One program, one job per subcommand, so that
// each measurement runs in a fresh process and its peak RSS is its own:
//
//   table_bench compile SPEC TABLE            compile_config() in process, write TABLE
//   table_bench phases SPEC                   the compile split into its phases
//   table_bench lookup TABLE PROBES [SEC]     Table::open (mmap) + resolve() per probe
//   table_bench cdb-build VIRTUAL CDB         tinycdb file with the same aliases
//   table_bench cdb-lookup CDB PROBES [SEC] [naive|indexed]
//                                             the probes our resolution order needs
//   table_bench verify TABLE CDB PROBES       both stores give the same answers
//
// Output is `key=value` pairs on one line, for the script to collect.
//
// tinycdb probe order for recipient local@domain (keys folded to lower case):
//   1. "local@domain"                                  exact
//   2. "base@domain" when local has a '+'              subaddress
//   3. "prefix*@domain" for every prefix of local,     wildcard
//      longest first (naive), or only for the prefix
//      lengths listed under the domain's index key
//      "\x01*@domain" (indexed: one more key per domain
//      with wildcards, one more find per probe)
//   4. "@domain"                                       catch-all
// Every cdb_find call is counted.
#include <cdb.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "compiler/compile.h"
#include "compiler/spec_reader.h"
#include "compiler/spec_scanner.h"
#include "compiler/table_builder.h"
#include "compiler/validate.h"
#include "runtime/table.h"

namespace {

using Clock = std::chrono::steady_clock;
using emailroute::MatchKind;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long peak_rss_kb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// VmRSS and VmHWM of this process, in KiB.
std::pair<long, long> rss_now_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  long rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::atol(line.c_str() + 6);
  }
  return {rss, hwm};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "table_bench: cannot read " << path << "\n";
    std::exit(2);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// ---- probes -----------------------------------------------------------------

enum Expect { kExpExact, kExpSub, kExpWild, kExpCatch, kExpMiss, kExpForeign, kExpCount };
const char* const kExpectNames[] = {"exact", "subaddress", "wildcard", "catchall", "miss", "foreign"};

struct Probe {
  Expect expect;
  std::string_view local, domain;
};

std::vector<Probe> parse_probes(const std::string& text) {
  std::vector<Probe> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    std::size_t tab = line.find('\t'), at = line.rfind('@');
    if (tab == std::string_view::npos || at == std::string_view::npos || at < tab) continue;
    std::string_view kind = line.substr(0, tab);
    Probe p{kExpMiss, line.substr(tab + 1, at - tab - 1), line.substr(at + 1)};
    for (int k = 0; k < kExpCount; ++k)
      if (kind == kExpectNames[k]) p.expect = static_cast<Expect>(k);
    out.push_back(p);
  }
  return out;
}

// Runs `round` (one pass over all probes, returning a checksum) for at least
// `min_seconds` after one warm-up pass; returns passes, elapsed, checksum.
template <class F>
void time_rounds(F&& round, double min_seconds, std::size_t probes, const char* label) {
  std::uint64_t sum = round();  // warm-up: page in the mapping, warm the caches
  std::size_t rounds = 0;
  auto t0 = Clock::now();
  double elapsed = 0;
  do {
    sum += round();
    ++rounds;
    elapsed = seconds_since(t0);
  } while (elapsed < min_seconds);
  double lookups = static_cast<double>(rounds) * static_cast<double>(probes);
  std::printf("%s probes=%zu rounds=%zu seconds=%.3f lookups_per_s=%.0f ns_per_lookup=%.1f checksum=%llu peak_rss_kb=%ld\n",
              label, probes, rounds, elapsed, lookups / elapsed, elapsed * 1e9 / lookups,
              static_cast<unsigned long long>(sum), peak_rss_kb());
}

// ---- our table --------------------------------------------------------------

emailroute::Table open_table(const std::string& path) {
  auto t = emailroute::Table::open(path);
  if (!t.ok()) {
    std::cerr << "table_bench: " << path << ": " << t.status().message() << "\n";
    std::exit(1);
  }
  return std::move(*t);
}

int cmd_compile(const std::string& spec, const std::string& table_path) {
  auto t0 = Clock::now();
  emailroute::CompileOutcome out = emailroute::compile_config(spec);
  double compile_s = seconds_since(t0);
  if (!out.ok()) {
    std::cerr << out.render_errors();
    return 1;
  }
  auto t1 = Clock::now();
  {
    // A plain write: the CLI's atomic write (temp file, fsync, rename) is timed by `emailroute compile`.
    std::ofstream f(table_path, std::ios::binary | std::ios::trunc);
    f.write(out.table.data(), static_cast<std::streamsize>(out.table.size()));
    if (!f.flush()) {
      std::cerr << "table_bench: cannot write " << table_path << "\n";
      return 1;
    }
  }
  double write_s = seconds_since(t1);
  auto sum = emailroute::summarize(*out.model);
  std::printf("compile seconds=%.3f write_seconds=%.3f peak_rss_kb=%ld table_bytes=%zu domains=%zu addresses=%zu destinations=%zu bytes_per_address=%.2f\n",
              compile_s, write_s, peak_rss_kb(), out.table.size(), sum.domains, sum.addresses, sum.destinations,
              static_cast<double>(out.table.size()) / static_cast<double>(sum.addresses));
  return 0;
}

// The same work as compile_source(), one phase at a time, with the RSS after each.
int cmd_phases(const std::string& spec_path) {
  auto phase = [](const char* name, Clock::time_point t0) {
    auto [rss, hwm] = rss_now_kb();
    std::printf("phase=%s seconds=%.3f rss_kb=%ld hwm_kb=%ld\n", name, seconds_since(t0), rss, hwm);
  };
  auto t = Clock::now();
  std::string source = read_file(spec_path);
  phase("read_file", t);
  {
    t = Clock::now();
    auto parsed = toml::parse(source, spec_path);
    phase("toml_parse_only", t);
    t = Clock::now();
  }
  phase("toml_free", t);
  {
    t = Clock::now();
    auto scanned = emailroute::scan_spec(source);
    phase("scan_spec_only", t);
    // read_spec below takes the same fast path only when the scanner accepts.
    std::printf("scanner=%s\n", scanned ? "accepted" : "declined");
    t = Clock::now();
  }
  phase("scan_free", t);
  emailroute::Diagnostics diags;
  t = Clock::now();
  auto spec = emailroute::read_spec(source, spec_path, diags);
  phase("read_spec", t);
  if (!spec || !diags.empty()) {
    std::cerr << diags.render(spec_path, source);
    return 1;
  }
  std::string dir = std::filesystem::absolute(spec_path).parent_path().string();
  t = Clock::now();
  auto model = emailroute::validate_spec(*spec, dir, diags);
  phase("validate_spec", t);
  if (!model || !diags.empty()) {
    std::cerr << diags.render(spec_path, source);
    return 1;
  }
  t = Clock::now();
  spec.reset();  // as compile_source() does, before building
  phase("free_spec", t);
  t = Clock::now();
  auto table = emailroute::build_table(*model);
  phase("build_table", t);
  if (!table.ok()) return 1;
  t = Clock::now();
  auto summary = emailroute::summarize(*model);
  phase("summarize", t);
  t = Clock::now();
  model.reset();
  phase("free_model", t);
  std::printf("phases table_bytes=%zu destinations=%zu peak_rss_kb=%ld\n", table->size(), summary.destinations, peak_rss_kb());
  return 0;
}

std::uint64_t mix(const emailroute::Resolution& r) {
  std::uint64_t h = static_cast<std::uint64_t>(r.kind) * 31 + r.matched_length;
  if (r.route.destination_count() > 0) {
    std::string_view d = r.route.destination(0);
    h += d.size() * 131 + static_cast<unsigned char>(d[0]);
  }
  return h;
}

int cmd_lookup(const std::string& table_path, const std::string& probes_path, double min_seconds) {
  auto t0 = Clock::now();
  emailroute::Table table = open_table(table_path);
  double open_s = seconds_since(t0);
  std::string text = read_file(probes_path);
  std::vector<Probe> probes = parse_probes(text);
  std::printf("open seconds=%.4f table_bytes=%zu\n", open_s, table.bytes().size());
  time_rounds(
      [&] {
        std::uint64_t sum = 0;
        for (const Probe& p : probes) sum += mix(table.resolve(p.local, p.domain));
        return sum;
      },
      min_seconds, probes.size(), "lookup store=emailroute");
  // Per probe kind, to see where the time goes.
  for (int k = 0; k < kExpCount; ++k) {
    std::vector<Probe> some;
    for (const Probe& p : probes)
      if (p.expect == k) some.push_back(p);
    if (some.empty()) continue;
    std::string label = std::string("lookup_kind store=emailroute kind=") + kExpectNames[k];
    time_rounds(
        [&] {
          std::uint64_t sum = 0;
          for (const Probe& p : some) sum += mix(table.resolve(p.local, p.domain));
          return sum;
        },
        min_seconds / 4, some.size(), label.c_str());
  }
  return 0;
}

// ---- tinycdb ----------------------------------------------------------------

int cmd_cdb_build(const std::string& virtual_path, const std::string& cdb_path) {
  auto t0 = Clock::now();
  std::string text = read_file(virtual_path);
  std::string tmp = cdb_path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return std::perror(tmp.c_str()), 1;
  struct cdb_make cm;
  cdb_make_start(&cm, fd);
  std::map<std::string, std::string> wildcard_lengths;  // "\x01*@domain" -> prefix lengths, longest first
  std::size_t records = 0, pos = 0;
  std::string key;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    key.assign(line.substr(0, sp));
    std::transform(key.begin(), key.end(), key.begin(), lower);
    std::string_view value = line.substr(sp + 1);
    cdb_make_add(&cm, key.data(), static_cast<unsigned>(key.size()), value.data(), static_cast<unsigned>(value.size()));
    ++records;
    std::size_t at = key.rfind('@');
    if (at > 0 && key[at - 1] == '*') wildcard_lengths["\x01*" + key.substr(at)].push_back(static_cast<char>(at - 1));
  }
  for (auto& [k, lengths] : wildcard_lengths) {
    std::sort(lengths.begin(), lengths.end(), [](char a, char b) { return static_cast<unsigned char>(a) > static_cast<unsigned char>(b); });
    cdb_make_add(&cm, k.data(), static_cast<unsigned>(k.size()), lengths.data(), static_cast<unsigned>(lengths.size()));
  }
  cdb_make_finish(&cm);
  ::fsync(fd);
  off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  std::rename(tmp.c_str(), cdb_path.c_str());
  std::printf("cdb_build seconds=%.3f records=%zu index_keys=%zu cdb_bytes=%lld peak_rss_kb=%ld\n", seconds_since(t0), records,
              wildcard_lengths.size(), static_cast<long long>(size), peak_rss_kb());
  return 0;
}

struct CdbAnswer {
  MatchKind kind = MatchKind::kUnknown;
  std::string_view value;
};

class CdbProber {
 public:
  explicit CdbProber(const std::string& path, bool indexed) : indexed_(indexed) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0 || cdb_init(&cdb_, fd_) != 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
  }
  ~CdbProber() {
    cdb_free(&cdb_);
    ::close(fd_);
  }
  std::uint64_t finds = 0;

  CdbAnswer resolve(std::string_view local, std::string_view domain) {
    CdbAnswer a;
    if (local.size() > 64 || domain.size() > 255 || local.empty() || domain.empty()) return a;
    // key = folded local, '@', folded domain; "*@domain" is kept after the longest prefix.
    char* k = buf_;
    for (char c : local) *k++ = lower(c);
    char* at = k;
    *k++ = '@';
    for (char c : domain) *k++ = lower(c);
    const std::size_t dlen = domain.size() + 1;  // "@domain"
    char domain_part[260];
    std::memcpy(domain_part, at, dlen);
    if (find(buf_, k - buf_)) return hit(MatchKind::kExact, a);
    std::size_t plus = local.find('+');
    if (plus != std::string_view::npos) {
      std::memcpy(buf_ + plus, domain_part, dlen);
      if (find(buf_, plus + dlen)) return hit(MatchKind::kSubaddress, a);
    }
    // Wildcards: "prefix*@domain"; buf_ still starts with the folded local part.
    auto try_prefix = [&](std::size_t n) {
      buf_[n] = '*';
      std::memcpy(buf_ + n + 1, domain_part, dlen);
      return find(buf_, n + 1 + dlen);
    };
    for (std::size_t i = 0; i < local.size(); ++i) buf_[i] = lower(local[i]);
    if (indexed_) {
      char index_key[262];
      index_key[0] = '\x01';
      index_key[1] = '*';
      std::memcpy(index_key + 2, domain_part, dlen);
      if (find(index_key, dlen + 2)) {
        // Copy the lengths: the next find moves the cursor.
        unsigned n = cdb_datalen(&cdb_);
        unsigned char lengths[64];
        n = std::min(n, 64u);
        std::memcpy(lengths, cdb_get(&cdb_, n, cdb_datapos(&cdb_)), n);
        for (unsigned i = 0; i < n; ++i)
          if (lengths[i] <= local.size() && try_prefix(lengths[i])) return hit(MatchKind::kWildcard, a);
      }
    } else {
      for (std::size_t n = local.size(); n >= 1; --n)
        if (try_prefix(n)) return hit(MatchKind::kWildcard, a);
    }
    if (find(domain_part, dlen)) return hit(MatchKind::kCatchAll, a);
    return a;
  }

 private:
  bool find(const char* key, std::size_t len) {
    ++finds;
    return cdb_find(&cdb_, key, static_cast<unsigned>(len)) > 0;
  }
  CdbAnswer& hit(MatchKind kind, CdbAnswer& a) {
    a.kind = kind;
    a.value = std::string_view(static_cast<const char*>(cdb_getdata(&cdb_)), cdb_datalen(&cdb_));
    return a;
  }
  int fd_ = -1;
  struct cdb cdb_ {};
  bool indexed_;
  char buf_[64 + 1 + 1 + 260];
};

std::uint64_t mix(const CdbAnswer& a) {
  std::uint64_t h = static_cast<std::uint64_t>(a.kind) * 31;
  if (!a.value.empty()) h += a.value.size() * 131 + static_cast<unsigned char>(a.value[0]);
  return h;
}

int cmd_cdb_lookup(const std::string& cdb_path, const std::string& probes_path, double min_seconds, bool indexed) {
  CdbProber cdb(cdb_path, indexed);
  std::string text = read_file(probes_path);
  std::vector<Probe> probes = parse_probes(text);
  // One pass to count the cdb_find calls a lookup needs, per probe kind.
  std::uint64_t per_kind[kExpCount] = {}, count[kExpCount] = {};
  for (const Probe& p : probes) {
    std::uint64_t before = cdb.finds;
    cdb.resolve(p.local, p.domain);
    per_kind[p.expect] += cdb.finds - before;
    ++count[p.expect];
  }
  std::uint64_t total = 0;
  std::printf("cdb_finds mode=%s", indexed ? "indexed" : "naive");
  for (int k = 0; k < kExpCount; ++k) {
    total += per_kind[k];
    if (count[k]) std::printf(" %s=%.2f", kExpectNames[k], static_cast<double>(per_kind[k]) / static_cast<double>(count[k]));
  }
  std::printf(" all=%.2f\n", static_cast<double>(total) / static_cast<double>(probes.size()));
  std::string label = std::string("lookup store=tinycdb mode=") + (indexed ? "indexed" : "naive");
  time_rounds(
      [&] {
        std::uint64_t sum = 0;
        for (const Probe& p : probes) sum += mix(cdb.resolve(p.local, p.domain));
        return sum;
      },
      min_seconds, probes.size(), label.c_str());
  return 0;
}

// ---- cross-check ------------------------------------------------------------

int cmd_verify(const std::string& table_path, const std::string& cdb_path, const std::string& probes_path) {
  emailroute::Table table = open_table(table_path);
  CdbProber naive(cdb_path, false), indexed(cdb_path, true);
  std::string text = read_file(probes_path);
  std::vector<Probe> probes = parse_probes(text);
  const MatchKind expected_kind[] = {MatchKind::kExact, MatchKind::kSubaddress, MatchKind::kWildcard,
                                     MatchKind::kCatchAll, MatchKind::kUnknown, MatchKind::kNotOurDomain};
  std::size_t kind_mismatch = 0, cdb_mismatch = 0, shown = 0;
  std::string ours;
  for (const Probe& p : probes) {
    emailroute::Resolution r = table.resolve(p.local, p.domain);
    ours.clear();
    for (std::size_t i = 0; i < r.route.destination_count(); ++i) {
      if (i) ours += ", ";
      ours += r.route.destination(i);
    }
    bool routed = r.kind != MatchKind::kUnknown && r.kind != MatchKind::kNotOurDomain;
    CdbAnswer a = naive.resolve(p.local, p.domain), b = indexed.resolve(p.local, p.domain);
    // cdb cannot tell "not our domain" from "unknown user": both are rejects.
    MatchKind ours_kind = r.kind == MatchKind::kNotOurDomain ? MatchKind::kUnknown : r.kind;
    bool same = a.kind == ours_kind && b.kind == ours_kind && (!routed || (a.value == ours && b.value == ours));
    if (r.kind != expected_kind[p.expect]) ++kind_mismatch;
    if (!same) ++cdb_mismatch;
    if ((!same || r.kind != expected_kind[p.expect]) && shown++ < 5)
      std::fprintf(stderr, "verify: %s %.*s@%.*s: ours kind %d \"%s\", cdb kind %d \"%.*s\"\n", kExpectNames[p.expect],
                   static_cast<int>(p.local.size()), p.local.data(), static_cast<int>(p.domain.size()), p.domain.data(),
                   static_cast<int>(r.kind), ours.c_str(), static_cast<int>(a.kind), static_cast<int>(a.value.size()),
                   a.value.data());
  }
  std::printf("verify probes=%zu kind_mismatches=%zu cdb_mismatches=%zu\n", probes.size(), kind_mismatch, cdb_mismatch);
  return kind_mismatch == 0 && cdb_mismatch == 0 ? 0 : 1;
}

int usage() {
  std::fputs(
      "usage: table_bench compile SPEC TABLE\n"
      "       table_bench phases SPEC\n"
      "       table_bench lookup TABLE PROBES [MIN_SECONDS]\n"
      "       table_bench cdb-build VIRTUAL CDB\n"
      "       table_bench cdb-lookup CDB PROBES [MIN_SECONDS] [naive|indexed]\n"
      "       table_bench verify TABLE CDB PROBES\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.empty()) return usage();
  auto secs = [&](std::size_t i) { return a.size() > i ? std::atof(a[i].c_str()) : 3.0; };
  if (a[0] == "compile" && a.size() == 3) return cmd_compile(a[1], a[2]);
  if (a[0] == "phases" && a.size() == 2) return cmd_phases(a[1]);
  if (a[0] == "lookup" && a.size() >= 3) return cmd_lookup(a[1], a[2], secs(3));
  if (a[0] == "cdb-build" && a.size() == 3) return cmd_cdb_build(a[1], a[2]);
  if (a[0] == "cdb-lookup" && a.size() >= 3) return cmd_cdb_lookup(a[1], a[2], secs(3), a.size() > 4 && a[4] == "indexed");
  if (a[0] == "verify" && a.size() == 4) return cmd_verify(a[1], a[2], a[3]);
  return usage();
}
