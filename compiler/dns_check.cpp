#include "compiler/dns_check.h"

#include <algorithm>

#include "compiler/dns_records.h"
#include "compiler/spf_check.h"

namespace emailroute {
namespace {

void add_line(std::vector<std::string>& to, const std::string& name, DnsType type, const std::string& rdata) {
  Result<std::string> line = zone_line(name, type, rdata);
  // A record DNS returned that ldns cannot print back is shown as a hint, not dropped.
  to.push_back(line.ok() ? *line : "; " + name + " " + to_string(type) + " " + rdata);
}

bool failed(DnsCheck& c, const LookupResult& r, const std::string& asked) {
  if (r.status != LookupStatus::kFailed) return false;
  c.status = CheckStatus::kError;
  c.note = asked + ": " + r.error;
  return true;
}

// The target of an MX rdata "10 host.", lower case; empty when malformed.
std::string mx_target(const std::string& rdata) {
  std::size_t sp = rdata.find(' ');
  return sp == std::string::npos ? "" : absolute_name(rdata.substr(sp + 1));
}

DnsCheck check_mx(const RequiredRecord& need, const std::string& host, DnsLookup& dns) {
  DnsCheck c{need.name, "MX", "MX", CheckStatus::kOk, true, {need.expected}, {}, "", {}, {}};
  LookupResult r = dns.lookup(need.name, DnsType::kMx);
  if (failed(c, r, "MX " + need.name)) return c;
  c.found = r.values;
  if (r.values.empty()) {
    c.status = CheckStatus::kMissing;
    c.note = r.status == LookupStatus::kNxDomain ? "the domain does not exist in DNS" : "no MX record";
    if (r.status != LookupStatus::kNxDomain) {
      LookupResult a = dns.lookup(need.name, DnsType::kA);
      if (a.status == LookupStatus::kOk) c.note = "no MX record: mail goes to the domain's own A record (implicit MX)";
    }
    add_line(c.add, need.name, DnsType::kMx, need.expected);
    return c;
  }
  bool ours = false;
  std::vector<std::string> notes;
  for (const std::string& v : r.values) {
    std::string target = mx_target(v);
    if (target == host) {
      ours = true;
      continue;
    }
    c.status = CheckStatus::kWrong;
    add_line(c.remove, need.name, DnsType::kMx, v);
    if (target == ".") {
      notes.push_back("null MX (RFC 7505): the domain says it accepts no mail");
      continue;
    }
    LookupResult cname = dns.lookup(target, DnsType::kCname);
    if (!cname.values.empty() && absolute_name(cname.values[0]) == host) {
      notes.push_back(target + " is an alias (CNAME) of " + host + "; an MX must name the host itself (RFC 2181 section 10.3)");
    } else {
      notes.push_back("other MX host " + target + " left behind: mail would be split between it and " + host);
    }
  }
  for (const std::string& n : notes) c.note += (c.note.empty() ? "" : "; ") + n;
  if (!ours) add_line(c.add, need.name, DnsType::kMx, need.expected);
  return c;
}

DnsCheck check_addresses(const RequiredRecord& need, DnsLookup& dns, std::vector<std::string>& addresses) {
  DnsCheck c{need.name, "A/AAAA", "address", CheckStatus::kOk, true, {}, {}, "", {}, {}};
  for (DnsType t : {DnsType::kA, DnsType::kAaaa}) {
    LookupResult r = dns.lookup(need.name, t);
    if (failed(c, r, std::string(to_string(t)) + " " + need.name)) return c;
    for (const std::string& v : r.values) {
      if (addresses.size() < kMaxRelayAddresses) addresses.push_back(v);
    }
  }
  c.found = addresses;
  if (addresses.empty()) {
    c.status = CheckStatus::kMissing;
    c.note = "the relay host has no address";
    c.expected = {"the relay's public IPv4 and/or IPv6 address"};
    c.add.push_back("; " + need.name + "\t" + std::to_string(kSuggestedTtl) + "\tIN\tA\t<the relay's public IPv4 address>");
  }
  return c;
}

DnsCheck check_ptr(const std::string& address, const std::string& host, DnsLookup& dns) {
  Result<RequiredRecord> need = ptr_record(address, host);
  DnsCheck c{need.ok() ? need->name : address, "PTR", "PTR", CheckStatus::kOk, true, {host}, {}, "", {}, {}};
  if (!need.ok()) {
    c.status = CheckStatus::kWrong;
    c.note = need.status().message();
    return c;
  }
  LookupResult r = dns.lookup(need->name, DnsType::kPtr);
  if (failed(c, r, "PTR " + need->name)) return c;
  c.found = r.values;
  bool ours = std::any_of(r.values.begin(), r.values.end(), [&](const std::string& v) { return absolute_name(v) == host; });
  if (ours) return c;
  c.status = r.values.empty() ? CheckStatus::kMissing : CheckStatus::kWrong;
  c.note = "the address " + address + " must name the relay back (set by whoever runs the address, often the hosting provider)";
  add_line(c.add, need->name, DnsType::kPtr, host);
  for (const std::string& v : r.values) add_line(c.remove, need->name, DnsType::kPtr, v);
  return c;
}

DnsCheck check_spf(const RequiredRecord& need, const std::string& host, const std::vector<std::string>& addresses, DnsLookup& dns) {
  std::string suggested = suggested_spf(addresses, host);
  DnsCheck c{need.name, "TXT", "SPF", CheckStatus::kOk, true, {suggested}, {}, "", {}, {}};
  LookupResult r = dns.lookup(need.name, DnsType::kTxt);
  if (failed(c, r, "TXT " + need.name)) return c;
  std::vector<std::string> recs = spf_records(r.values);
  c.found = recs;
  auto replace_with = [&](const std::string& rec) {
    for (const std::string& old : recs) add_line(c.remove, need.name, DnsType::kTxt, old);
    c.expected = {rec};
    add_line(c.add, need.name, DnsType::kTxt, rec);
  };
  if (recs.empty()) {
    c.status = CheckStatus::kMissing;
    c.note = "no v=spf1 record: forwarded mail (sent from " + need.name + ") would fail SPF";
    add_line(c.add, need.name, DnsType::kTxt, suggested);
    return c;
  }
  if (recs.size() > 1) {
    c.status = CheckStatus::kWrong;
    c.note = "more than one v=spf1 record (RFC 7208 section 4.5: a permerror); keep exactly one";
    replace_with(suggested);
    return c;
  }
  SpfOutcome limits = spf_check_limits(dns, need.name);
  if (limits.result == SpfResult::kTempError) {
    c.status = CheckStatus::kError;
    c.note = "SPF: " + limits.reason;
    return c;
  }
  if (limits.result == SpfResult::kPermError) {
    c.status = CheckStatus::kWrong;
    c.note = "SPF permerror: " + limits.reason;
    replace_with(suggested);
    return c;
  }
  std::string missing;
  for (const std::string& a : addresses) {
    SpfOutcome o = spf_check_host(dns, a, need.name);
    if (o.result == SpfResult::kTempError) {
      c.status = CheckStatus::kError;
      c.note = "SPF: " + o.reason;
      return c;
    }
    if (o.result == SpfResult::kPass) continue;
    c.status = CheckStatus::kWrong;
    c.note += (c.note.empty() ? "" : "; ") + std::string("does not authorise ") + a + " (result " + to_string(o.result) +
              (o.reason.empty() ? "" : ": " + o.reason) + ")";
    missing += (a.find(':') != std::string::npos ? " ip6:" : " ip4:") + a;
  }
  if (c.status == CheckStatus::kWrong) {
    std::string fixed = recs[0];
    fixed.insert(6, missing);  // after "v=spf1"
    replace_with(fixed);
  } else {
    c.expected = recs;
  }
  return c;
}

// RFC 7489 section 6.3: "v=DMARC1" first, then tag=value pairs, p= required.
std::string dmarc_problem(const std::string& rec) {
  std::vector<std::string> tags;
  for (std::size_t i = 0; i <= rec.size();) {
    std::size_t end = rec.find(';', i);
    if (end == std::string::npos) end = rec.size();
    std::string t = rec.substr(i, end - i);
    t.erase(0, t.find_first_not_of(" \t"));
    t.erase(t.find_last_not_of(" \t") + 1);
    if (!t.empty()) tags.push_back(t);
    i = end + 1;
  }
  if (tags.empty() || tags[0] != "v=DMARC1") return "it must start with v=DMARC1";
  bool policy = false;
  for (std::size_t i = 1; i < tags.size(); ++i) {
    std::size_t eq = tags[i].find('=');
    if (eq == std::string::npos || eq == 0) return "\"" + tags[i] + "\" is not tag=value";
    std::string name = tags[i].substr(0, eq), value = tags[i].substr(eq + 1);
    name.erase(name.find_last_not_of(" \t") + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (name == "p") {
      if (value != "none" && value != "quarantine" && value != "reject") return "p=" + value + " is not none, quarantine or reject";
      policy = true;
    }
  }
  return policy ? "" : "it has no p= policy";
}

DnsCheck check_dmarc(const RequiredRecord& need, DnsLookup& dns) {
  DnsCheck c{need.name, "TXT", "DMARC", CheckStatus::kOk, false, {need.expected}, {}, "", {}, {}};
  LookupResult r = dns.lookup(need.name, DnsType::kTxt);
  if (failed(c, r, "TXT " + need.name)) return c;
  for (const std::string& v : r.values) {
    if (v.rfind("v=DMARC1", 0) == 0 || v.rfind("v=dmarc1", 0) == 0) c.found.push_back(v);
  }
  if (c.found.empty()) {
    c.status = CheckStatus::kMissing;
    c.note = "no DMARC record (a warning: receivers fall back to their own policy)";
    add_line(c.add, need.name, DnsType::kTxt, need.expected);
    return c;
  }
  std::string problem = c.found.size() > 1 ? "more than one DMARC record" : dmarc_problem(c.found[0]);
  if (problem.empty()) {
    c.expected = c.found;
    return c;
  }
  c.status = CheckStatus::kWrong;
  c.note = "malformed DMARC record: " + problem;
  for (const std::string& v : c.found) add_line(c.remove, need.name, DnsType::kTxt, v);
  add_line(c.add, need.name, DnsType::kTxt, need.expected);
  return c;
}

}  // namespace

const char* to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk: return "OK";
    case CheckStatus::kMissing: return "MISSING";
    case CheckStatus::kWrong: return "WRONG";
    case CheckStatus::kError: return "ERROR";
  }
  return "?";
}

std::vector<DnsCheck> check_dns(const RoutingModel& model, DnsLookup& dns) {
  std::vector<DnsCheck> out;
  const std::string host = absolute_name(model.relay.hostname);
  std::vector<std::string> addresses;
  for (const RequiredRecord& need : required_records(model)) {
    switch (need.kind) {
      case RecordKind::kAddress:
        out.push_back(check_addresses(need, dns, addresses));
        for (const std::string& a : addresses) out.push_back(check_ptr(a, host, dns));
        break;
      case RecordKind::kPtr: break;  // derived from the addresses above
      case RecordKind::kSpf: out.push_back(check_spf(need, host, addresses, dns)); break;
      case RecordKind::kMx: out.push_back(check_mx(need, host, dns)); break;
      case RecordKind::kDmarc: out.push_back(check_dmarc(need, dns)); break;
    }
  }
  return out;
}

bool is_warning(const DnsCheck& c) { return !c.required && c.status == CheckStatus::kMissing; }

int dns_exit_status(const std::vector<DnsCheck>& checks) {
  bool fix = false;
  for (const DnsCheck& c : checks) {
    if (c.status == CheckStatus::kError) return 2;
    if (c.status == CheckStatus::kWrong || (c.status == CheckStatus::kMissing && c.required)) fix = true;
  }
  return fix ? 1 : 0;
}

}  // namespace emailroute
