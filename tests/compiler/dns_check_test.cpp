#include "compiler/dns_check.h"

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

// A relay whose own records are right; tests add the domain's.
FakeDns good_relay() {
  FakeDns dns;
  dns.add("mx.relay.test.", DnsType::kA, "192.0.2.10");
  dns.add("10.2.0.192.in-addr.arpa.", DnsType::kPtr, "mx.relay.test.");
  dns.add("relay.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.10 -all");
  return dns;
}

const DnsCheck& find(const std::vector<DnsCheck>& checks, const std::string& what) {
  for (const DnsCheck& c : checks) {
    if (c.what == what) return c;
  }
  FAIL("no check " << what);
  return checks.front();
}

TEST_CASE("all right: every check OK, exit 0") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kMx, "10 mx.relay.test.");
  dns.add("_dmarc.example.com.", DnsType::kTxt, "v=DMARC1; p=reject");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  REQUIRE(checks.size() == 5);
  for (const DnsCheck& c : checks) {
    CAPTURE(c.what);
    CHECK(c.status == CheckStatus::kOk);
    CHECK(c.add.empty());
  }
  CHECK(dns_exit_status(checks) == 0);
}

TEST_CASE("a missing MX is MISSING with the line to add") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kTxt, "something");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  const DnsCheck& mx = find(checks, "MX");
  CHECK(mx.status == CheckStatus::kMissing);
  CHECK(mx.note == "no MX record");
  CHECK(mx.add == std::vector<std::string>{"example.com.\t3600\tIN\tMX\t10 mx.relay.test."});
  CHECK(dns_exit_status(checks) == 1);
}

TEST_CASE("another provider's MX left behind is WRONG, to be removed") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kMx, "10 mx.relay.test.").add("example.com.", DnsType::kMx, "20 mx.old.example.");
  const DnsCheck mx = find(check_dns(model_of("example.com"), dns), "MX");
  CHECK(mx.status == CheckStatus::kWrong);
  CHECK(mx.add.empty());
  CHECK(mx.remove == std::vector<std::string>{"example.com.\t3600\tIN\tMX\t20 mx.old.example."});
}

TEST_CASE("a null MX is WRONG") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kMx, "0 .");
  const DnsCheck mx = find(check_dns(model_of("example.com"), dns), "MX");
  CHECK(mx.status == CheckStatus::kWrong);
  CHECK(mx.note == "null MX (RFC 7505): the domain says it accepts no mail");
}

TEST_CASE("a missing DMARC record is only a warning") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kMx, "10 mx.relay.test.");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  const DnsCheck& d = find(checks, "DMARC");
  CHECK(d.status == CheckStatus::kMissing);
  CHECK(is_warning(d));
  CHECK(dns_exit_status(checks) == 0);
}

TEST_CASE("a malformed DMARC record is WRONG") {
  FakeDns dns = good_relay();
  dns.add("example.com.", DnsType::kMx, "10 mx.relay.test.");
  dns.add("_dmarc.example.com.", DnsType::kTxt, "v=DMARC1; rua=mailto:x@example.com");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  CHECK(find(checks, "DMARC").note == "malformed DMARC record: it has no p= policy");
  CHECK(dns_exit_status(checks) == 1);
}

TEST_CASE("an SPF record that leaves out the relay is WRONG, with the relay added") {
  FakeDns dns;
  dns.add("mx.relay.test.", DnsType::kA, "192.0.2.10");
  dns.add("10.2.0.192.in-addr.arpa.", DnsType::kPtr, "mx.relay.test.");
  dns.add("relay.test.", DnsType::kTxt, "v=spf1 include:other.test ~all");
  dns.add("other.test.", DnsType::kTxt, "v=spf1 ip4:198.51.100.0/24 -all");
  const DnsCheck spf = find(check_dns(model_of("example.com"), dns), "SPF");
  CHECK(spf.status == CheckStatus::kWrong);
  CHECK(spf.expected == std::vector<std::string>{"v=spf1 ip4:192.0.2.10 include:other.test ~all"});
}

TEST_CASE("a wrong PTR is WRONG and a missing one MISSING") {
  FakeDns dns;
  dns.add("mx.relay.test.", DnsType::kA, "192.0.2.10").add("mx.relay.test.", DnsType::kAaaa, "2001:db8::1");
  dns.add("10.2.0.192.in-addr.arpa.", DnsType::kPtr, "vps-1234.hoster.example.");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  REQUIRE(checks.size() == 6);
  CHECK(checks[1].status == CheckStatus::kWrong);
  CHECK(checks[2].status == CheckStatus::kMissing);
  CHECK(checks[2].name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
}

TEST_CASE("a failed lookup is ERROR and exit 2, even beside things to fix") {
  FakeDns dns;
  dns.add("mx.relay.test.", DnsType::kA, "192.0.2.10");
  dns.fail("example.com.");
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  const DnsCheck& mx = find(checks, "MX");
  CHECK(mx.status == CheckStatus::kError);
  CHECK(mx.note == "MX example.com.: SERVFAIL");
  CHECK(dns_exit_status(checks) == 2);
}

TEST_CASE("looks at no more than kMaxRelayAddresses addresses of the relay") {
  FakeDns dns;
  for (int i = 0; i < 40; ++i) dns.add("mx.relay.test.", DnsType::kA, "192.0.2." + std::to_string(i));
  std::vector<DnsCheck> checks = check_dns(model_of("example.com"), dns);
  std::size_t ptrs = 0;
  for (const DnsCheck& c : checks) ptrs += c.what == "PTR";
  CHECK(ptrs == kMaxRelayAddresses);
}

}  // namespace
}  // namespace emailroute
