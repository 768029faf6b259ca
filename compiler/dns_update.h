// `dns apply`'s plan: which of check-dns's findings (compiler/dns_check) an
// RFC 2136 dynamic update may fix, grouped into one update per zone, and the
// text that shows the diff before anything is sent. Pure: the zones come in
// as a map (cli/ asks the server), so every rule is unit-tested.
//
// The rules, and why:
// - A MISSING record is added (its zone-file lines from DnsCheck::add).
//   Adding is safe: RFC 2136 ignores an add of a record that is already there.
// - A WRONG finding is fixed only when --replace names its kind (MX, SPF,
//   DMARC, PTR): fixing it means deleting records someone else wrote, and
//   adding without deleting would make things worse (two SPF records are a
//   permerror; a real MX beside a null MX breaks RFC 7505). Without
//   --replace the whole finding is shown and skipped, with the reason.
// - Deletes name one record each (class NONE, RFC 2136 section 2.5.4), never a
//   whole RRset, so other TXT records at the same name are never touched.
// - Hints (lines starting with "; ", e.g. the relay's A record whose address
//   only the operator knows) and names the server does not serve are left for
//   manual action and printed as such.
// - Each update holds only names inside its zone; its prerequisite is the
//   zone's SOA as read before the diff (RFC 2136 section 2.4.2, "RRset exists,
//   value dependent"), so a zone changed meanwhile refuses it (NXRRSET).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/dns_check.h"
#include "runtime/status.h"

namespace emailroute {

/// The kinds of finding --replace may name, as DnsCheck::what spells them.
struct ReplaceSet {
  bool mx = false, spf = false, dmarc = false, ptr = false;
  /// True when findings of this kind (DnsCheck::what) may delete records.
  bool allows(const std::string& what) const;
};

/// "MX", "SPF", "DMARC", "PTR" and "TXT" (= SPF and DMARC), any case; each
/// item may itself be a comma-separated list ("MX,TXT").
Result<ReplaceSet> parse_replace(const std::vector<std::string>& items);

/// One finding the update fixes; lines are zone-file lines as check-dns prints them.
struct PlannedFix {
  std::string name, what;  // DnsCheck::name, DnsCheck::what
  CheckStatus status = CheckStatus::kMissing;
  std::vector<std::string> add, remove;
};

/// One finding that is shown but not sent, and why.
struct SkippedFix {
  std::string name, what;
  CheckStatus status = CheckStatus::kMissing;
  std::string why;
  std::vector<std::string> add, remove;  // what fixing it would take (lines or "; " hints)
};

struct UpdatePlan {
  std::vector<PlannedFix> fixes;
  std::vector<SkippedFix> need_replace;  // WRONG, its kind not in --replace
  std::vector<SkippedFix> manual;        // hints only, or DNS could not tell
};

/// The plan for `checks` (in their order). OK findings are left out.
UpdatePlan plan_update(const std::vector<DnsCheck>& checks, const ReplaceSet& replace);

/// The zone a name lies in, as the server to update answered (cli/ asks for its SOA).
struct ZoneInfo {
  std::string apex;      // absolute, lower case; empty: the server does not serve the name
  std::string soa_line;  // the zone's SOA as a zone-file line (the update's prerequisite)
  std::string why;       // apex empty: what the server said
};

/// One RFC 2136 update: one zone, its prerequisite, the records to delete and to add.
struct ZoneUpdate {
  std::string zone, soa_line;
  std::vector<std::string> remove, add;
};

struct ZonedPlan {
  std::vector<ZoneUpdate> updates;  // in the order their first finding was reported
  std::vector<SkippedFix> manual;   // findings whose name is in no zone the server serves
};

/// True when `name` is `zone` or below it (both absolute, lower case).
bool in_zone(const std::string& name, const std::string& zone);

/// Groups the fixes by zone. A fix whose name is missing from `zones`, has an
/// empty apex or lies outside its apex goes to `manual` with the reason.
ZonedPlan group_by_zone(const UpdatePlan& plan, const std::map<std::string, ZoneInfo>& zones);

/// The diff shown before sending: per zone "+ line" / "- line", then what is
/// skipped and why, then what needs manual action.
std::string update_preview(const UpdatePlan& plan, const ZonedPlan& zoned);

}  // namespace emailroute
