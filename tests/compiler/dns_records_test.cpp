#include "compiler/dns_records.h"

#include <doctest/doctest.h>

namespace emailroute {
namespace {

RoutingModel model_of(std::vector<std::string> domains) {
  RoutingModel m;
  m.relay.hostname = "MX.Relay.test";
  m.relay.srs_domain = "relay.test";
  for (const std::string& name : domains) {
    ModelDomain d;
    d.name = name;
    m.domains.push_back(d);
  }
  return m;
}

TEST_CASE("derives the relay's address and SPF, then MX and DMARC per domain") {
  std::vector<RequiredRecord> r = required_records(model_of({"a.test", "b.test"}));
  REQUIRE(r.size() == 6);
  CHECK(r[0].kind == RecordKind::kAddress);
  CHECK(r[0].name == "mx.relay.test.");
  CHECK(r[1].kind == RecordKind::kSpf);
  CHECK(r[1].name == "relay.test.");
  CHECK(r[2].kind == RecordKind::kMx);
  CHECK(r[2].name == "a.test.");
  CHECK(r[2].expected == "10 mx.relay.test.");
  CHECK(r[3].kind == RecordKind::kDmarc);
  CHECK(r[3].name == "_dmarc.a.test.");
  CHECK_FALSE(r[3].required);
  CHECK(r[4].name == "b.test.");
}

TEST_CASE("names the PTR record of IPv4 and IPv6 addresses") {
  Result<RequiredRecord> v4 = ptr_record("192.0.2.10", "mx.relay.test");
  REQUIRE(v4.ok());
  CHECK(v4->name == "10.2.0.192.in-addr.arpa.");
  CHECK(v4->expected == "mx.relay.test.");
  Result<RequiredRecord> v6 = ptr_record("2001:db8::1", "mx.relay.test.");
  REQUIRE(v6.ok());
  CHECK(v6->name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
  CHECK_FALSE(ptr_record("not-an-ip", "mx.relay.test").ok());
}

TEST_CASE("suggests an SPF record from the relay's addresses") {
  CHECK(suggested_spf({"192.0.2.10", "2001:db8::1"}, "mx.relay.test") == "v=spf1 ip4:192.0.2.10 ip6:2001:db8::1 -all");
  CHECK(suggested_spf({}, "mx.relay.test.") == "v=spf1 a:mx.relay.test -all");
}

TEST_CASE("prints zone-file lines with ldns") {
  CHECK(*zone_line("example.com.", DnsType::kMx, "10 mx.relay.test.") == "example.com.\t3600\tIN\tMX\t10 mx.relay.test.");
  CHECK(*zone_line("relay.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.10 -all") ==
        "relay.test.\t3600\tIN\tTXT\t\"v=spf1 ip4:192.0.2.10 -all\"");
  CHECK(*zone_line("_dmarc.x.test.", DnsType::kTxt, "say \"hi\"") == "_dmarc.x.test.\t3600\tIN\tTXT\t\"say \\\"hi\\\"\"");
  CHECK_FALSE(zone_line("example.com.", DnsType::kMx, "ten mx.relay.test.").ok());
}

TEST_CASE("splits TXT data longer than 255 bytes into character-strings") {
  std::string long_text(300, 'a');
  std::string line = *zone_line("t.test.", DnsType::kTxt, long_text);
  CHECK(line == "t.test.\t3600\tIN\tTXT\t\"" + std::string(255, 'a') + "\" \"" + std::string(45, 'a') + "\"");
}

}  // namespace
}  // namespace emailroute
