#include "compiler/dns_update.h"

#include <algorithm>

namespace emailroute {
namespace {

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

bool is_hint(const std::string& line) { return line.rfind(";", 0) == 0; }

bool any_hint(const std::vector<std::string>& lines) { return std::any_of(lines.begin(), lines.end(), is_hint); }

SkippedFix skipped(const DnsCheck& c, std::string why) {
  return SkippedFix{c.name, c.what, c.status, std::move(why), c.add, c.remove};
}

// The name --replace takes for a finding's kind ("SPF" for what == "SPF").
std::string replace_name(const std::string& what) { return upper(what); }

void append_lines(std::string& out, const char* prefix, const std::vector<std::string>& lines) {
  for (const std::string& l : lines) out += prefix + l + "\n";
}

void append_skipped(std::string& out, const SkippedFix& s) {
  out += "  " + std::string(to_string(s.status)) + " " + s.what + " " + s.name + ": " + s.why + "\n";
  append_lines(out, "      would delete: ", s.remove);
  append_lines(out, "      would add:    ", s.add);
}

// "serial N" from an SOA zone-file line (name TTL IN SOA mname rname serial ...).
std::string soa_serial(const std::string& soa_line) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < soa_line.size() && words.size() < 7;) {
    std::size_t b = soa_line.find_first_not_of(" \t", i);
    if (b == std::string::npos) break;
    std::size_t e = std::min(soa_line.find_first_of(" \t", b), soa_line.size());
    words.push_back(soa_line.substr(b, e - b));
    i = e;
  }
  return words.size() == 7 && words[3] == "SOA" ? "serial " + words[6] : soa_line;
}

}  // namespace

bool ReplaceSet::allows(const std::string& what) const {
  if (what == "MX") return mx;
  if (what == "SPF") return spf;
  if (what == "DMARC") return dmarc;
  if (what == "PTR") return ptr;
  return false;  // "address": the relay's own A/AAAA records are never rewritten
}

Result<ReplaceSet> parse_replace(const std::vector<std::string>& items) {
  ReplaceSet out;
  for (const std::string& item : items) {
    for (std::size_t i = 0; i <= item.size();) {
      std::size_t end = std::min(item.find(',', i), item.size());
      std::string word = upper(item.substr(i, end - i));
      i = end + 1;
      if (word == "MX") {
        out.mx = true;
      } else if (word == "SPF") {
        out.spf = true;
      } else if (word == "DMARC") {
        out.dmarc = true;
      } else if (word == "TXT") {
        out.spf = out.dmarc = true;
      } else if (word == "PTR") {
        out.ptr = true;
      } else {
        return Status::invalid("--replace takes MX, SPF, DMARC, TXT (SPF and DMARC) or PTR, not \"" + word + "\"");
      }
    }
  }
  return out;
}

UpdatePlan plan_update(const std::vector<DnsCheck>& checks, const ReplaceSet& replace) {
  UpdatePlan plan;
  for (const DnsCheck& c : checks) {
    switch (c.status) {
      case CheckStatus::kOk: continue;
      case CheckStatus::kError: plan.manual.push_back(skipped(c, "could not be checked: " + c.note)); continue;
      case CheckStatus::kMissing:
      case CheckStatus::kWrong: break;
    }
    // A hint stands for data only the operator has (the relay's address), or
    // for a found record ldns could not print back and so cannot delete.
    if (c.add.empty() && c.remove.empty()) {
      plan.manual.push_back(skipped(c, c.note));
    } else if (any_hint(c.add) || any_hint(c.remove)) {
      plan.manual.push_back(skipped(c, c.note + "; needs a value only you can give: add it by hand"));
    } else if (!c.remove.empty() && !replace.allows(c.what)) {
      plan.need_replace.push_back(skipped(c, c.note + "; not changed: fixing it deletes records this tool did not write, pass --replace " +
                                                 replace_name(c.what) + " to allow that"));
    } else {
      plan.fixes.push_back(PlannedFix{c.name, c.what, c.status, c.add, c.remove});
    }
  }
  return plan;
}

bool in_zone(const std::string& name, const std::string& zone) {
  if (zone.empty() || name.size() < zone.size()) return false;
  if (zone == ".") return true;
  if (name.compare(name.size() - zone.size(), zone.size(), zone) != 0) return false;
  // "example.test." is not inside "ample.test.": the match must start at a label.
  return name.size() == zone.size() || name[name.size() - zone.size() - 1] == '.';
}

ZonedPlan group_by_zone(const UpdatePlan& plan, const std::map<std::string, ZoneInfo>& zones) {
  ZonedPlan out;
  for (const PlannedFix& f : plan.fixes) {
    auto it = zones.find(f.name);
    std::string why;
    if (it == zones.end()) {
      why = "the zone of " + f.name + " is unknown";
    } else if (it->second.apex.empty()) {
      why = it->second.why;
    } else if (!in_zone(f.name, it->second.apex)) {
      why = f.name + " is not inside the zone " + it->second.apex;
    }
    if (!why.empty()) {
      out.manual.push_back(SkippedFix{f.name, f.what, f.status, why + ": add it where the zone is kept", f.add, f.remove});
      continue;
    }
    const ZoneInfo& z = it->second;
    auto u = std::find_if(out.updates.begin(), out.updates.end(), [&](const ZoneUpdate& x) { return x.zone == z.apex; });
    if (u == out.updates.end()) {
      out.updates.push_back(ZoneUpdate{z.apex, z.soa_line, {}, {}});
      u = out.updates.end() - 1;
    }
    u->remove.insert(u->remove.end(), f.remove.begin(), f.remove.end());
    u->add.insert(u->add.end(), f.add.begin(), f.add.end());
  }
  return out;
}

std::string update_preview(const UpdatePlan& plan, const ZonedPlan& zoned) {
  std::string out;
  for (const ZoneUpdate& u : zoned.updates) {
    out += "update of zone " + u.zone + " (applied only if its SOA is unchanged: " + soa_serial(u.soa_line) + ")\n";
    append_lines(out, "  - ", u.remove);
    append_lines(out, "  + ", u.add);
  }
  if (zoned.updates.empty()) out += "no update to send\n";
  if (!plan.need_replace.empty()) {
    out += "\nnot changed without --replace:\n";
    for (const SkippedFix& s : plan.need_replace) append_skipped(out, s);
  }
  if (!plan.manual.empty() || !zoned.manual.empty()) {
    out += "\nneeds manual action:\n";
    for (const SkippedFix& s : plan.manual) append_skipped(out, s);
    for (const SkippedFix& s : zoned.manual) append_skipped(out, s);
  }
  return out;
}

}  // namespace emailroute
