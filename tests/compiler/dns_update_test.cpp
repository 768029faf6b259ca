#include "compiler/dns_update.h"

#include <doctest/doctest.h>

#include "fake_dns.h"

namespace emailroute {
namespace {

using test::FakeDns;

RoutingModel model_of(const std::string& domain) {
  RoutingModel m;
  m.relay.hostname = "mx.relay.test";
  m.relay.srs_domain = "relay.test";
  ModelDomain d;
  d.name = domain;
  m.domains.push_back(d);
  return m;
}

FakeDns good_relay() {
  FakeDns dns;
  dns.add("mx.relay.test.", DnsType::kA, "192.0.2.10");
  dns.add("10.2.0.192.in-addr.arpa.", DnsType::kPtr, "mx.relay.test.");
  dns.add("relay.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.10 -all");
  return dns;
}

ZoneInfo zone(const std::string& apex) {
  return ZoneInfo{apex, apex + "\t300\tIN\tSOA\tns.relay.test. hostmaster.relay.test. 7 3600 600 86400 300", ""};
}

TEST_CASE("parse_replace takes kinds in any case, comma-separated or repeated; TXT means SPF and DMARC") {
  Result<ReplaceSet> r = parse_replace({"mx,Spf", "ptr"});
  REQUIRE(r.ok());
  CHECK(r->mx);
  CHECK(r->spf);
  CHECK(r->ptr);
  CHECK_FALSE(r->dmarc);
  Result<ReplaceSet> txt = parse_replace({"TXT"});
  REQUIRE(txt.ok());
  CHECK(txt->allows("SPF"));
  CHECK(txt->allows("DMARC"));
  CHECK_FALSE(txt->allows("MX"));
  CHECK_FALSE(txt->allows("address"));
}

TEST_CASE("parse_replace refuses an unknown kind and an empty item, naming it") {
  Result<ReplaceSet> r = parse_replace({"MX,CNAME"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "--replace takes MX, SPF, DMARC, TXT (SPF and DMARC) or PTR, not \"CNAME\"");
  CHECK_FALSE(parse_replace({"MX,"}).ok());
  CHECK(parse_replace({}).ok());
}

TEST_CASE("missing records are planned as adds, the DMARC warning included; OK ones are left out") {
  FakeDns dns = good_relay();
  std::vector<DnsCheck> checks = check_dns(model_of("shop.test"), dns);
  UpdatePlan plan = plan_update(checks, ReplaceSet{});
  REQUIRE(plan.fixes.size() == 2);
  CHECK(plan.fixes[0].what == "MX");
  CHECK(plan.fixes[0].add == std::vector<std::string>{"shop.test.\t3600\tIN\tMX\t10 mx.relay.test."});
  CHECK(plan.fixes[0].remove.empty());
  CHECK(plan.fixes[1].what == "DMARC");
  CHECK(plan.fixes[1].add == std::vector<std::string>{"_dmarc.shop.test.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\""});
  CHECK(plan.need_replace.empty());
  CHECK(plan.manual.empty());
}

TEST_CASE("a WRONG finding is skipped without --replace, with the reason, and nothing of it is planned") {
  FakeDns dns = good_relay();
  dns.add("stale.test.", DnsType::kMx, "10 mx.relay.test.").add("stale.test.", DnsType::kMx, "20 mx.old.example.");
  dns.add("_dmarc.stale.test.", DnsType::kTxt, "v=DMARC1; p=none");
  UpdatePlan plan = plan_update(check_dns(model_of("stale.test"), dns), ReplaceSet{});
  CHECK(plan.fixes.empty());
  REQUIRE(plan.need_replace.size() == 1);
  const SkippedFix& s = plan.need_replace[0];
  CHECK(s.what == "MX");
  CHECK(s.remove == std::vector<std::string>{"stale.test.\t3600\tIN\tMX\t20 mx.old.example."});
  CHECK(s.why.find("pass --replace MX to allow that") != std::string::npos);
  CHECK(s.why.find("other MX host mx.old.example. left behind") == 0);
}

TEST_CASE("with --replace of its kind a WRONG finding deletes the found records and adds the right ones together") {
  FakeDns dns = good_relay();
  dns.add("null.test.", DnsType::kMx, "0 .");
  dns.add("_dmarc.null.test.", DnsType::kTxt, "v=DMARC1; p=none");
  ReplaceSet replace;
  replace.mx = true;
  UpdatePlan plan = plan_update(check_dns(model_of("null.test"), dns), replace);
  REQUIRE(plan.fixes.size() == 1);
  CHECK(plan.fixes[0].status == CheckStatus::kWrong);
  CHECK(plan.fixes[0].remove == std::vector<std::string>{"null.test.\t3600\tIN\tMX\t0 ."});
  CHECK(plan.fixes[0].add == std::vector<std::string>{"null.test.\t3600\tIN\tMX\t10 mx.relay.test."});
}

TEST_CASE("--replace of another kind does not let a WRONG SPF through") {
  FakeDns dns = good_relay();
  dns.add("relay.test.", DnsType::kTxt, "v=spf1 a:mx.relay.test -all");  // a second SPF record
  ReplaceSet replace;
  replace.mx = replace.dmarc = true;
  UpdatePlan plan = plan_update(check_dns(model_of("shop.test"), dns), replace);
  REQUIRE(plan.need_replace.size() == 1);
  CHECK(plan.need_replace[0].what == "SPF");
  for (const PlannedFix& f : plan.fixes) CHECK(f.what != "SPF");
}

TEST_CASE("a relay host without an address needs manual action: only the operator knows it") {
  FakeDns dns;
  UpdatePlan plan = plan_update(check_dns(model_of("shop.test"), dns), ReplaceSet{});
  REQUIRE_FALSE(plan.manual.empty());
  CHECK(plan.manual[0].what == "address");
  CHECK(plan.manual[0].why.find("add it by hand") != std::string::npos);
  for (const PlannedFix& f : plan.fixes) CHECK(f.what != "address");
}

TEST_CASE("in_zone matches whole labels only") {
  CHECK(in_zone("shop.test.", "shop.test."));
  CHECK(in_zone("_dmarc.shop.test.", "shop.test."));
  CHECK(in_zone("a.b.", "."));
  CHECK_FALSE(in_zone("workshop.test.", "shop.test."));
  CHECK_FALSE(in_zone("test.", "shop.test."));
  CHECK_FALSE(in_zone("shop.test.", ""));
}

TEST_CASE("fixes are grouped into one update per zone, in report order; names the server does not serve need manual action") {
  UpdatePlan plan;
  plan.fixes.push_back({"relay.test.", "SPF", CheckStatus::kMissing, {"relay.test.\t3600\tIN\tTXT\t\"v=spf1 -all\""}, {}});
  plan.fixes.push_back({"shop.test.", "MX", CheckStatus::kMissing, {"shop.test.\t3600\tIN\tMX\t10 mx.relay.test."}, {}});
  plan.fixes.push_back({"_dmarc.shop.test.", "DMARC", CheckStatus::kMissing, {"_dmarc.shop.test.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\""}, {}});
  plan.fixes.push_back({"10.2.0.192.in-addr.arpa.", "PTR", CheckStatus::kMissing, {"10.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\tmx.relay.test."}, {}});
  std::map<std::string, ZoneInfo> zones;
  zones["relay.test."] = zone("relay.test.");
  zones["shop.test."] = zone("shop.test.");
  zones["_dmarc.shop.test."] = zone("shop.test.");
  zones["10.2.0.192.in-addr.arpa."] = ZoneInfo{"", "", "the server answered REFUSED for 10.2.0.192.in-addr.arpa."};
  ZonedPlan z = group_by_zone(plan, zones);
  REQUIRE(z.updates.size() == 2);
  CHECK(z.updates[0].zone == "relay.test.");
  CHECK(z.updates[1].zone == "shop.test.");
  CHECK(z.updates[1].add.size() == 2);
  CHECK(z.updates[1].add[1] == "_dmarc.shop.test.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\"");
  CHECK(z.updates[1].soa_line == zone("shop.test.").soa_line);
  REQUIRE(z.manual.size() == 1);
  CHECK(z.manual[0].what == "PTR");
  CHECK(z.manual[0].why == "the server answered REFUSED for 10.2.0.192.in-addr.arpa.: add it where the zone is kept");
}

TEST_CASE("a fix whose name is outside the zone it was given, or has no zone, is never put into an update") {
  UpdatePlan plan;
  plan.fixes.push_back({"shop.test.", "MX", CheckStatus::kMissing, {"shop.test.\t3600\tIN\tMX\t10 mx.relay.test."}, {}});
  plan.fixes.push_back({"other.test.", "MX", CheckStatus::kMissing, {"other.test.\t3600\tIN\tMX\t10 mx.relay.test."}, {}});
  std::map<std::string, ZoneInfo> zones;
  zones["shop.test."] = zone("relay.test.");
  ZonedPlan z = group_by_zone(plan, zones);
  CHECK(z.updates.empty());
  REQUIRE(z.manual.size() == 2);
  CHECK(z.manual[0].why == "shop.test. is not inside the zone relay.test.: add it where the zone is kept");
  CHECK(z.manual[1].why == "the zone of other.test. is unknown: add it where the zone is kept");
}

TEST_CASE("the preview lists deletes before adds per zone, then what is skipped and why") {
  FakeDns dns = good_relay();
  dns.add("stale.test.", DnsType::kMx, "20 mx.old.example.");
  UpdatePlan plan = plan_update(check_dns(model_of("stale.test"), dns), ReplaceSet{});
  std::map<std::string, ZoneInfo> zones;
  for (const PlannedFix& f : plan.fixes) zones[f.name] = zone("stale.test.");
  ZonedPlan z = group_by_zone(plan, zones);
  CHECK(update_preview(plan, z) ==
        "update of zone stale.test. (applied only if its SOA is unchanged: serial 7)\n"
        "  + _dmarc.stale.test.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\"\n"
        "\n"
        "not changed without --replace:\n"
        "  WRONG MX stale.test.: other MX host mx.old.example. left behind: mail would be split between it and mx.relay.test.; "
        "not changed: fixing it deletes records this tool did not write, pass --replace MX to allow that\n"
        "      would delete: stale.test.\t3600\tIN\tMX\t20 mx.old.example.\n"
        "      would add:    stale.test.\t3600\tIN\tMX\t10 mx.relay.test.\n");
}

TEST_CASE("the preview says so when there is no update to send") {
  CHECK(update_preview(UpdatePlan{}, ZonedPlan{}) == "no update to send\n");
}

}  // namespace
}  // namespace emailroute
