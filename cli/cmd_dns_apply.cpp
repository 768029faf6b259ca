// emailroute dns apply [CONFIG] --server IP[:PORT] --tsig-key FILE [--replace KINDS] [--resolver IP[:PORT]] [--yes]:
// fix what check-dns finds with RFC 2136 dynamic updates signed with TSIG.
// The findings are check-dns's own (compiler/dns_check); which of them an
// update may fix, and how, is compiler/dns_update; talking to the server is
// cli/dns_update_send. Exit 0 applied (or shown, or nothing to do), 1 the
// server refused an update or nothing could be fixed without --replace or by
// hand, 2 bad usage, unreadable files, or DNS that did not answer.
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/dns_query.h"
#include "cli/dns_report.h"
#include "cli/dns_update_send.h"
#include "cli/tsig_key.h"
#include "compiler/compile.h"
#include "compiler/dns_check.h"
#include "compiler/dns_update.h"

namespace emailroute::cli {
namespace {

struct DnsApplyOptions {
  std::string config = "emailroute.toml";
  std::string server, key_file, resolver;
  std::vector<std::string> replace;
  bool yes = false;
};

// The primary holds the truth for its zones, without caches, so it is asked
// first; names it does not serve (it answers REFUSED: an SPF include at
// another provider, a relay host elsewhere) go to the resolver, created only
// when first needed.
class PrimaryFirstLookup : public DnsLookup {
 public:
  PrimaryFirstLookup(LdnsLookup& primary, std::string resolver) : primary_(primary), resolver_(std::move(resolver)) {}
  LookupResult lookup(const std::string& name, DnsType type) override {
    LookupResult r = primary_.lookup(name, type);
    if (r.status != LookupStatus::kFailed) return r;
    if (fallback_ == nullptr && fallback_error_.empty()) {
      Result<std::unique_ptr<LdnsLookup>> f = LdnsLookup::create(resolver_);
      if (f.ok()) {
        fallback_ = std::move(*f);
      } else {
        fallback_error_ = f.status().message();
      }
    }
    if (fallback_ == nullptr) {
      r.error += "; and no resolver to ask instead: " + fallback_error_;
      return r;
    }
    return fallback_->lookup(name, type);
  }

 private:
  LdnsLookup& primary_;
  std::string resolver_;
  std::unique_ptr<LdnsLookup> fallback_;
  std::string fallback_error_;
};

int fail(const std::string& message) {
  std::cerr << "emailroute dns apply: " << message << "\n";
  return kExitUsage;
}

int run_dns_apply(const DnsApplyOptions& opt) {
  CompileOutcome out = compile_config(opt.config);
  if (!out.ok()) {
    std::cerr << out.render_errors();
    return kExitUsage;
  }
  const RoutingModel& model = *out.model;
  Result<ReplaceSet> replace = parse_replace(opt.replace);
  if (!replace.ok()) return fail(replace.status().message());
  Result<TsigKey> key = read_tsig_key(opt.key_file);
  if (!key.ok()) return fail(key.status().message());
  Result<std::unique_ptr<UpdateServer>> server = UpdateServer::create(opt.server, *key);
  if (!server.ok()) return fail(server.status().message());
  Result<std::unique_ptr<LdnsLookup>> primary = LdnsLookup::create(opt.server);
  if (!primary.ok()) return fail(primary.status().message());
  PrimaryFirstLookup dns(**primary, opt.resolver.empty() ? model.relay.dns_resolver : opt.resolver);

  std::vector<DnsCheck> checks = check_dns(model, dns);
  if (dns_exit_status(checks) == kExitUsage) {
    // Half the findings would make a wrong diff: send nothing.
    std::cout << dns_report_text(checks);
    return fail("some records could not be checked (see above), nothing sent (if " + opt.server +
                " does not serve those names, pass --resolver with a resolver that can)");
  }
  UpdatePlan plan = plan_update(checks, *replace);
  std::map<std::string, ZoneInfo> zones;
  for (const PlannedFix& f : plan.fixes) {
    if (zones.count(f.name)) continue;
    Result<ZoneInfo> z = (*server)->find_zone(f.name);
    if (!z.ok()) return fail(opt.server + ": " + z.status().message());
    zones[f.name] = *z;
  }
  ZonedPlan zoned = group_by_zone(plan, zones);
  for (std::size_t i = 0; i < zoned.updates.size();) {
    Status st = (*server)->resolve_removes(zoned.updates[i]);
    if (st.code() == Status::Code::kIoError) return fail(opt.server + ": " + st.message());
    if (st.ok()) {
      ++i;
      continue;
    }
    // A record to delete that is not there as DNS showed it: deleting nothing
    // and adding the new one could leave two SPF records. Leave the zone alone.
    const ZoneUpdate& u = zoned.updates[i];
    zoned.manual.push_back(SkippedFix{u.zone, "zone", CheckStatus::kWrong, st.message() + "; its update is not sent", u.add, u.remove});
    zoned.updates.erase(zoned.updates.begin() + static_cast<std::ptrdiff_t>(i));
  }

  std::cout << "emailroute dns apply: " << opt.config << " against " << opt.server << ", key " << key->name << " ("
            << key->algorithm << ")\n"
            << "check-dns: " << dns_summary(checks) << "\n\n"
            << update_preview(plan, zoned);
  bool left = !plan.need_replace.empty() || !plan.manual.empty() || !zoned.manual.empty();
  if (zoned.updates.empty()) {
    std::cout << (left ? "\nnothing sent: what is left needs --replace or manual action\n"
                       : "\nnothing to change: DNS already says what " + opt.config + " needs\n");
    return left ? kExitInvalid : kExitOk;
  }
  if (!opt.yes) {
    std::cout << "\nnot sent: run again with --yes to send " << zoned.updates.size()
              << (zoned.updates.size() == 1 ? " update" : " updates") << "\n";
    return kExitOk;
  }
  int status = kExitOk;
  std::cout << "\n";
  for (const ZoneUpdate& u : zoned.updates) {
    Result<UpdateAnswer> a = (*server)->send(u);
    if (!a.ok()) {
      std::cout << "zone " << u.zone << ": not applied: " << a.status().message() << "\n";
      status = kExitUsage;
    } else if (a->accepted) {
      std::cout << "zone " << u.zone << ": applied (" << a->message << ")\n";
    } else {
      std::cout << "zone " << u.zone << ": refused by the server: " << a->message << "\n";
      if (status == kExitOk) status = kExitInvalid;
    }
  }
  if (left && status == kExitOk) std::cout << "still to fix: the findings above that need --replace or manual action\n";
  return status;
}

constexpr const char* kApplyHelp = R"(How it works:
  1. Reads CONFIG and checks DNS exactly as check-dns does, asking --server
     first (the primary holds the truth, no caches) and --resolver for names
     the server does not serve (an SPF include at another provider).
  2. Plans the fixes: every MISSING record is added (the zone-file lines
     check-dns prints). A WRONG finding (an old provider's MX, a second or
     outdated SPF record, a malformed DMARC record) is fixed only when
     --replace names its kind: fixing it deletes records this tool did not
     write. Without --replace it is shown with the reason and left alone.
     The relay's own A/AAAA records need its public address: they are always
     left for manual action, as are PTR records outside the server's zones.
  3. Finds each name's zone by asking --server for its SOA, and builds one
     RFC 2136 update per zone, holding only names inside that zone. Its
     prerequisite is the zone's SOA as just read, so a zone changed meanwhile
     refuses the update (NXRRSET) instead of getting a stale diff. Deletes
     name single records (never a whole RRset: other TXT records stay).
     Names in zones the server does not serve are listed for manual action.
  4. Shows the diff ("- " deleted, "+ " added). Without --yes nothing is sent.
  5. With --yes, sends each update over TCP signed with the TSIG key and
     reports the server's answer; a reply whose TSIG does not verify is not
     counted as applied.
  Run check-dns afterwards to see the result.

TSIG key file (exactly one key), in any of these forms:
  BIND (tsig-keygen NAME):    key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
  Knot (keymgr -t NAME):      key:
                                - id: NAME
                                  algorithm: hmac-sha256
                                  secret: BASE64
  one line (nsupdate -y):     [ALGORITHM:]NAME:BASE64      (default hmac-sha256)
  Algorithms: hmac-sha256 (recommended), hmac-sha512, hmac-sha1, hmac-md5
  (not hmac-sha224 or hmac-sha384: ldns cannot sign with them). The key's
  name, algorithm and secret must be the ones the server has. The secret is
  never printed.

Exit status:
  0  the updates were applied; or, without --yes, the diff was shown; or
     nothing needed changing
  1  the server refused an update (bad key, no permission, zone changed), or
     something needs fixing but nothing could be sent (needs --replace or
     manual action)
  2  bad usage, an unreadable config or key file, or DNS that did not answer

Examples:
  emailroute dns apply --server 192.0.2.53 --tsig-key emailroute.key
  emailroute dns apply --server 192.0.2.53 --tsig-key emailroute.key --yes
  emailroute dns apply --server 192.0.2.53:5353 --tsig-key knot.key --replace MX,SPF --yes)";

}  // namespace

void add_dns_command(CLI::App& app, Runner& run) {
  auto* dns = app.add_subcommand("dns", "Change DNS to say what the config needs (see: dns apply --help)");
  dns->require_subcommand(1);
  auto* cmd = dns->add_subcommand("apply", "Add the records check-dns finds missing with a TSIG-signed RFC 2136 update");
  auto opt = std::make_shared<DnsApplyOptions>();
  cmd->add_option("CONFIG", opt->config, "The routing spec")->capture_default_str();
  cmd->add_option("--server", opt->server, "The primary DNS server to update, IP[:PORT] (port 53 by default)")->required();
  cmd->add_option("--tsig-key", opt->key_file, "File with the TSIG key the server allows to update (BIND, Knot or ALG:NAME:SECRET form)")
      ->required();
  cmd->add_option("--replace", opt->replace,
                  "Also fix WRONG findings of these kinds, deleting the records in the way: MX, SPF, DMARC, PTR, TXT (= SPF,DMARC); "
                  "comma-separated or repeated")
      ->delimiter(',');
  cmd->add_option("--resolver", opt->resolver,
                  "Where to ask about names the server does not serve, IP[:PORT] (default: relay.dns_resolver, else /etc/resolv.conf)");
  cmd->add_flag("--yes", opt->yes, "Send the updates (without it the diff is only shown)");
  cmd->footer(kApplyHelp);
  cmd->callback([&run, opt] {
    run = [opt] { return run_dns_apply(*opt); };
  });
}

}  // namespace emailroute::cli
