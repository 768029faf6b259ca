#include "compiler/spf_check.h"

#include <doctest/doctest.h>

#include "fake_dns.h"

namespace emailroute {
namespace {

using test::FakeDns;

SpfResult result(FakeDns& dns, const std::string& ip, const std::string& domain = "example.net.") {
  return spf_check_host(dns, ip, domain).result;
}

TEST_CASE("recognises v=spf1 only as a whole first term") {
  CHECK(is_spf_record("v=spf1"));
  CHECK(is_spf_record("v=spf1 -all"));
  CHECK(is_spf_record("V=SPF1 -all"));
  CHECK_FALSE(is_spf_record("v=spf10 -all"));
  CHECK_FALSE(is_spf_record("google-site-verification=x"));
  CHECK(spf_records({"a", "v=spf1 -all", "v=spf1 ip4:1.2.3.4 -all"}).size() == 2);
}

TEST_CASE("matches ip4 and ip6 with and without a prefix") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all");
  CHECK(result(dns, "192.0.2.77") == SpfResult::kPass);
  CHECK(result(dns, "192.0.3.1") == SpfResult::kFail);
  CHECK(result(dns, "2001:db8:1::5") == SpfResult::kPass);
  CHECK(result(dns, "2001:db9::5") == SpfResult::kFail);
}

TEST_CASE("applies qualifiers and answers neutral when nothing matches") {
  FakeDns dns;
  dns.add("a.test.", DnsType::kTxt, "v=spf1 ~all");
  dns.add("b.test.", DnsType::kTxt, "v=spf1 ?ip4:192.0.2.1");
  dns.add("c.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.2");
  CHECK(result(dns, "192.0.2.1", "a.test") == SpfResult::kSoftFail);
  CHECK(result(dns, "192.0.2.1", "b.test") == SpfResult::kNeutral);
  CHECK(result(dns, "192.0.2.1", "c.test") == SpfResult::kNeutral);
  CHECK(result(dns, "192.0.2.1", "none.test") == SpfResult::kNone);
}

TEST_CASE("follows a, mx, include and redirect") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 a mx:mail.test include:inc.test redirect=red.test");
  dns.add("example.net.", DnsType::kA, "192.0.2.1");
  dns.add("mail.test.", DnsType::kMx, "10 mx.mail.test.");
  dns.add("mx.mail.test.", DnsType::kA, "192.0.2.2");
  dns.add("inc.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.3 -all");
  dns.add("red.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.4 -all");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kPass);
  CHECK(result(dns, "192.0.2.2") == SpfResult::kPass);
  CHECK(result(dns, "192.0.2.3") == SpfResult::kPass);
  CHECK(result(dns, "192.0.2.4") == SpfResult::kPass);
  CHECK(result(dns, "192.0.2.5") == SpfResult::kFail);  // from the redirect's -all
}

TEST_CASE("a with a prefix matches the network of the host") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 a:host.test/24 -all");
  dns.add("host.test.", DnsType::kA, "192.0.2.1");
  CHECK(result(dns, "192.0.2.200") == SpfResult::kPass);
  CHECK(result(dns, "192.0.3.1") == SpfResult::kFail);
}

TEST_CASE("is a permerror past 10 DNS-querying terms") {
  FakeDns dns;
  std::string rec = "v=spf1";
  for (int i = 1; i <= 11; ++i) {
    std::string host = "h" + std::to_string(i) + ".test";
    rec += " a:" + host;
    dns.add(host + ".", DnsType::kA, "198.51.100." + std::to_string(i));
  }
  dns.add("example.net.", DnsType::kTxt, rec + " ip4:192.0.2.1 -all");
  SpfOutcome o = spf_check_host(dns, "192.0.2.1", "example.net.");
  CHECK(o.result == SpfResult::kPermError);
  CHECK(o.reason == "too many DNS lookups (more than 10, RFC 7208 section 4.6.4)");
  CHECK(spf_check_limits(dns, "example.net.").result == SpfResult::kPermError);
}

TEST_CASE("counts the lookups of includes too, and stops an include loop") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 include:loop.test -all");
  dns.add("loop.test.", DnsType::kTxt, "v=spf1 include:example.net -all");
  SpfOutcome o = spf_check_host(dns, "192.0.2.1", "example.net.");
  CHECK(o.result == SpfResult::kPermError);
  CHECK(o.lookups == 11);
  CHECK(dns.questions <= 12);
}

TEST_CASE("exactly 10 lookups is still fine") {
  FakeDns dns;
  std::string rec = "v=spf1";
  for (int i = 1; i <= 10; ++i) {
    std::string host = "h" + std::to_string(i) + ".test";
    rec += " a:" + host;
    dns.add(host + ".", DnsType::kA, "198.51.100." + std::to_string(i));
  }
  dns.add("example.net.", DnsType::kTxt, rec + " -all");
  CHECK(result(dns, "198.51.100.10") == SpfResult::kPass);
  CHECK(spf_check_limits(dns, "example.net.").result == SpfResult::kFail);
}

TEST_CASE("more than two lookups that find nothing is a permerror") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 a:x.test a:y.test a:z.test ip4:192.0.2.1 -all");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kPermError);
}

TEST_CASE("two v=spf1 records, an unknown mechanism or a bad address are permerrors") {
  FakeDns dns;
  dns.add("two.test.", DnsType::kTxt, "v=spf1 -all").add("two.test.", DnsType::kTxt, "v=spf1 +all");
  dns.add("bad.test.", DnsType::kTxt, "v=spf1 frobnicate -all");
  dns.add("ip.test.", DnsType::kTxt, "v=spf1 ip4:300.1.1.1 -all");
  dns.add("cidr.test.", DnsType::kTxt, "v=spf1 ip4:192.0.2.0/33 -all");
  dns.add("v6in4.test.", DnsType::kTxt, "v=spf1 ip4:2001:db8::1 -all");
  dns.add("noinc.test.", DnsType::kTxt, "v=spf1 include:nothing.test -all");
  for (const char* d : {"two.test", "bad.test", "ip.test", "cidr.test", "v6in4.test", "noinc.test"}) {
    CAPTURE(d);
    CHECK(result(dns, "192.0.2.1", d) == SpfResult::kPermError);
  }
}

TEST_CASE("a failed lookup is a temperror") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 include:down.test -all");
  dns.fail("down.test.");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kTempError);
  dns.fail("example.net.");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kTempError);
}

TEST_CASE("ignores exp= and unknown modifiers; a macro never matches") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 exp=explain.test foo=bar exists:%{i}.rbl.test ip4:192.0.2.1 -all");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kPass);
  CHECK(result(dns, "192.0.2.2") == SpfResult::kFail);
}

TEST_CASE("mx with more than 10 hosts is a permerror") {
  FakeDns dns;
  dns.add("example.net.", DnsType::kTxt, "v=spf1 mx -all");
  for (int i = 0; i < 11; ++i) dns.add("example.net.", DnsType::kMx, "10 mx" + std::to_string(i) + ".test.");
  CHECK(result(dns, "192.0.2.1") == SpfResult::kPermError);
}

TEST_CASE("hostile terms are permerrors, never crashes") {
  const char* records[] = {"v=spf1 ip4:/",  "v=spf1 ip4:192.0.2.1/", "v=spf1 ip6:::/129", "v=spf1 a:/",
                           "v=spf1 mx//",   "v=spf1 a//999",         "v=spf1 include:",   "v=spf1 a/-1",
                           "v=spf1 ip4:192.0.2.1//24", "v=spf1 all:x", "v=spf1 -"};
  for (const char* rec : records) {
    CAPTURE(rec);
    FakeDns dns;
    dns.add("example.net.", DnsType::kTxt, rec);
    CHECK(result(dns, "192.0.2.1") == SpfResult::kPermError);
  }
}

}  // namespace
}  // namespace emailroute
