#include "compiler/spf_check.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>
#include <optional>

#include "compiler/dns_records.h"

namespace emailroute {
namespace {

constexpr std::size_t kMaxTerms = 64;  // a TXT record of 512 bytes holds far fewer real terms

struct Ip {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
};

std::optional<Ip> parse_ip(const std::string& text) {
  Ip ip;
  if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) return ip;
  ip.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

bool in_prefix(const Ip& ip, const Ip& net, int bits) {
  if (ip.v6 != net.v6) return false;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((ip.bytes[i] & mask) != (net.bytes[i] & mask)) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "/24", "//64" or "/24//64" at the end of a term; returns false when malformed.
bool split_cidr(std::string& spec, int& v4, int& v6) {
  auto number = [](std::string_view s, int max, int& out) {
    if (s.empty() || s.size() > 3) return false;
    int n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    if (n > max) return false;
    out = n;
    return true;
  };
  std::size_t dbl = spec.find("//");
  if (dbl != std::string::npos) {
    if (!number(std::string_view(spec).substr(dbl + 2), 128, v6)) return false;
    spec.resize(dbl);
  }
  std::size_t one = spec.rfind('/');
  if (one != std::string::npos) {
    if (!number(std::string_view(spec).substr(one + 1), 32, v4)) return false;
    spec.resize(one);
  }
  return true;
}

class Evaluator {
 public:
  Evaluator(DnsLookup& dns, Ip ip, bool exhaustive) : dns_(dns), ip_(ip), exhaustive_(exhaustive) {}

  SpfOutcome run(const std::string& domain) {
    SpfOutcome out;
    out.result = check(absolute_name(domain), 0);
    out.reason = reason_;
    out.lookups = lookups_;
    return out;
  }

 private:
  SpfResult perm(std::string why) {
    if (reason_.empty()) reason_ = std::move(why);
    return SpfResult::kPermError;
  }
  SpfResult temp(std::string why) {
    if (reason_.empty()) reason_ = std::move(why);
    return SpfResult::kTempError;
  }
  bool count_lookup() { return ++lookups_ <= kSpfMaxLookups; }
  SpfResult too_many() {
    return perm("too many DNS lookups (more than " + std::to_string(kSpfMaxLookups) + ", RFC 7208 section 4.6.4)");
  }

  // Does any address of `host` fall in the prefix? nullopt with reason_ set on error.
  std::optional<SpfResult> match_host(const std::string& host, int v4, int v6, bool& matched) {
    LookupResult r = dns_.lookup(host, ip_.v6 ? DnsType::kAaaa : DnsType::kA);
    if (r.status == LookupStatus::kFailed) return temp("lookup of " + host + " failed: " + r.error);
    for (std::size_t i = 0; i < r.values.size() && i < kMaxRecordsPerAnswer; ++i) {
      std::optional<Ip> a = parse_ip(r.values[i]);
      if (a && in_prefix(ip_, *a, ip_.v6 ? v6 : v4)) matched = true;
    }
    if (r.values.empty() && ++void_lookups_ > kSpfMaxVoidLookups) return perm("too many lookups that found nothing");
    return std::nullopt;
  }

  SpfResult check(const std::string& domain, int depth) {
    if (depth > kSpfMaxLookups) return too_many();
    LookupResult txt = dns_.lookup(domain, DnsType::kTxt);
    if (txt.status == LookupStatus::kFailed) return temp("TXT lookup of " + domain + " failed: " + txt.error);
    if (txt.values.size() > kMaxRecordsPerAnswer) txt.values.resize(kMaxRecordsPerAnswer);
    std::vector<std::string> recs = spf_records(txt.values);
    if (recs.empty()) return SpfResult::kNone;
    if (recs.size() > 1) return perm("more than one v=spf1 record at " + domain);

    std::vector<std::string> terms;
    for (std::size_t i = 6; i < recs[0].size();) {
      std::size_t end = recs[0].find(' ', i);
      if (end == std::string::npos) end = recs[0].size();
      if (end > i) terms.push_back(recs[0].substr(i, end - i));
      i = end + 1;
    }
    if (terms.size() > kMaxTerms) return perm("more than " + std::to_string(kMaxTerms) + " terms at " + domain);

    std::string redirect;
    bool saw_all = false;
    std::optional<SpfResult> found;
    for (const std::string& raw : terms) {
      std::string term = raw;
      SpfResult qual = SpfResult::kPass;
      if (!term.empty() && std::strchr("+-~?", term[0])) {
        qual = term[0] == '+' ? SpfResult::kPass
             : term[0] == '-' ? SpfResult::kFail
             : term[0] == '~' ? SpfResult::kSoftFail
                              : SpfResult::kNeutral;
        term.erase(0, 1);
      }
      std::size_t sep = term.find_first_of(":/=");
      std::string name = lower(term.substr(0, sep));
      if (sep != std::string::npos && term[sep] == '=' && qual == SpfResult::kPass && raw[0] != '+') {
        if (name == "redirect") {
          if (!redirect.empty()) return perm("more than one redirect= at " + domain);
          redirect = term.substr(sep + 1);
        }
        continue;  // exp= and unknown modifiers are ignored (section 6)
      }
      std::string arg = sep == std::string::npos ? "" : term.substr(sep);
      bool matched = false;
      if (name == "all") {
        if (!arg.empty()) return perm("malformed term \"" + raw + "\" at " + domain);
        matched = true;
        saw_all = true;
      } else if (name == "ip4" || name == "ip6") {
        if (arg.empty() || arg[0] != ':') return perm("malformed term \"" + raw + "\" at " + domain);
        std::string addr = arg.substr(1);
        int bits = name == "ip4" ? 32 : 128, v4 = 32, v6 = 128;
        std::size_t slash = addr.find('/');
        if (slash != std::string::npos) {
          std::string cidr = name == "ip4" ? addr.substr(slash) : "/" + addr.substr(slash);
          bool bad = name == "ip4" && cidr.find("//") != std::string::npos;
          if (bad || !split_cidr(cidr, v4, v6) || !cidr.empty()) return perm("malformed prefix in \"" + raw + "\" at " + domain);
          bits = name == "ip4" ? v4 : v6;
          addr.resize(slash);
        }
        std::optional<Ip> net = parse_ip(addr);
        if (!net || net->v6 != (name == "ip6")) return perm("malformed address in \"" + raw + "\" at " + domain);
        matched = in_prefix(ip_, *net, bits);
      } else if (name == "a" || name == "mx" || name == "include" || name == "exists" || name == "ptr") {
        if (!count_lookup()) return too_many();
        std::string spec = arg;
        int v4 = 32, v6 = 128;
        if (name == "a" || name == "mx") {
          if (!split_cidr(spec, v4, v6)) return perm("malformed prefix in \"" + raw + "\" at " + domain);
        }
        std::string target = domain;
        if (!spec.empty()) {
          if (spec[0] != ':' || spec.size() < 2) return perm("malformed term \"" + raw + "\" at " + domain);
          target = absolute_name(spec.substr(1));
        } else if (name == "include" || name == "exists") {
          return perm("\"" + raw + "\" needs a domain at " + domain);
        }
        if (target.find('%') != std::string::npos || name == "ptr") {
          matched = false;  // macros are not expanded; ptr is deprecated and never matches here
        } else if (name == "include") {
          SpfResult r = check(target, depth + 1);
          if (r == SpfResult::kTempError || r == SpfResult::kPermError) return r;
          if (r == SpfResult::kNone) return perm("include:" + target + " has no SPF record");
          matched = r == SpfResult::kPass;
        } else if (name == "a" || name == "exists") {
          int bits4 = name == "exists" ? 0 : v4, bits6 = name == "exists" ? 0 : v6;
          if (name == "exists") {
            LookupResult r = dns_.lookup(target, DnsType::kA);
            if (r.status == LookupStatus::kFailed) return temp("lookup of " + target + " failed: " + r.error);
            matched = !r.values.empty();
          } else if (auto err = match_host(target, bits4, bits6, matched)) {
            return *err;
          }
        } else {  // mx
          LookupResult mx = dns_.lookup(target, DnsType::kMx);
          if (mx.status == LookupStatus::kFailed) return temp("MX lookup of " + target + " failed: " + mx.error);
          if (mx.values.size() > static_cast<std::size_t>(kSpfMaxMxHosts)) return perm("more than 10 MX hosts at " + target);
          if (mx.values.empty() && ++void_lookups_ > kSpfMaxVoidLookups) return perm("too many lookups that found nothing");
          for (const std::string& v : mx.values) {
            std::size_t sp = v.find(' ');
            if (sp == std::string::npos) continue;
            if (auto err = match_host(absolute_name(v.substr(sp + 1)), v4, v6, matched)) return *err;
          }
        }
      } else {
        return perm("unknown mechanism \"" + raw + "\" at " + domain);
      }
      if (matched && !found) found = qual;
      if (found && !exhaustive_) return *found;
      if (saw_all) break;
    }
    if (found) return *found;
    if (!redirect.empty() && !saw_all) {
      if (!count_lookup()) return too_many();
      SpfResult r = check(absolute_name(redirect), depth + 1);
      if (r == SpfResult::kNone) return perm("redirect=" + redirect + " has no SPF record");
      return r;
    }
    return SpfResult::kNeutral;
  }

  DnsLookup& dns_;
  Ip ip_;
  bool exhaustive_;
  int lookups_ = 0, void_lookups_ = 0;
  std::string reason_;
};

}  // namespace

const char* to_string(SpfResult r) {
  switch (r) {
    case SpfResult::kNone: return "none";
    case SpfResult::kNeutral: return "neutral";
    case SpfResult::kPass: return "pass";
    case SpfResult::kFail: return "fail";
    case SpfResult::kSoftFail: return "softfail";
    case SpfResult::kTempError: return "temperror";
    case SpfResult::kPermError: return "permerror";
  }
  return "?";
}

bool is_spf_record(std::string_view txt) {
  if (txt.size() < 6) return false;
  if (lower(txt.substr(0, 6)) != "v=spf1") return false;
  return txt.size() == 6 || txt[6] == ' ';
}

std::vector<std::string> spf_records(const std::vector<std::string>& txts) {
  std::vector<std::string> out;
  for (const std::string& t : txts) {
    if (is_spf_record(t)) out.push_back(t);
  }
  return out;
}

SpfOutcome spf_check_host(DnsLookup& dns, const std::string& ip, const std::string& domain) {
  std::optional<Ip> parsed = parse_ip(ip);
  if (!parsed) return {SpfResult::kPermError, "not an IP address: " + ip, 0};
  return Evaluator(dns, *parsed, false).run(domain);
}

SpfOutcome spf_check_limits(DnsLookup& dns, const std::string& domain) {
  Ip nobody;  // 0.0.0.0: matched by no real term, so every term is evaluated
  return Evaluator(dns, nobody, true).run(domain);
}

}  // namespace emailroute
