// MX rules (RFC 5321 §5.1, RFC 7505) on answers made by hand, the address
// refusals, the replies, and the whole lookup against a fake server.
#include "runtime/mx_plan.h"
#include "runtime/next_hop.h"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "tests/runtime/dns_fakes.h"

namespace emailroute {
namespace {

DnsRecord mx(const char* owner, std::uint16_t pref, const char* target) {
  DnsRecord r;
  r.owner = owner;
  r.type = RrType::kMx;
  r.preference = pref;
  r.target = target;
  return r;
}

DnsRecord cname(const char* owner, const char* target) {
  DnsRecord r;
  r.owner = owner;
  r.type = RrType::kCname;
  r.target = target;
  return r;
}

DnsAnswer answer(std::vector<DnsRecord> records, DnsOutcome outcome = DnsOutcome::kAnswer) {
  DnsAnswer a;
  a.outcome = outcome;
  a.records = std::move(records);
  return a;
}

std::vector<std::string> names(const std::vector<MxHost>& hosts) {
  std::vector<std::string> out;
  for (const MxHost& h : hosts) out.push_back(h.name);
  return out;
}

std::vector<std::string> texts(const std::vector<Endpoint>& endpoints) {
  std::vector<std::string> out;
  for (const Endpoint& e : endpoints) out.push_back(e.text);
  return out;
}

std::array<std::uint8_t, 16> v6(std::initializer_list<std::uint8_t> head, std::uint8_t last) {
  std::array<std::uint8_t, 16> a{};
  std::copy(head.begin(), head.end(), a.begin());
  a[15] = last;
  return a;
}

TEST_CASE("mx: sorts hosts by preference and shuffles equal ones") {
  DnsAnswer a = answer({mx("d.test.", 20, "c.test."), mx("d.test.", 10, "a.test."), mx("d.test.", 10, "b.test."),
                        mx("other.test.", 1, "x.test."), mx("d.test.", 30, "a.test.")});
  std::set<std::vector<std::string>> orders;
  for (unsigned seed = 0; seed < 40; ++seed) {
    std::mt19937 random(seed);
    Result<std::vector<MxHost>> hosts = mx_hosts("D.test", a, random);
    REQUIRE(hosts.ok());
    REQUIRE(hosts->size() == 3);  // the other owner's record and the duplicate left out
    CHECK((*hosts)[2].name == "c.test.");
    CHECK_FALSE((*hosts)[0].implicit);
    orders.insert(names(*hosts));
  }
  CHECK(orders.size() == 2);  // a,b,c and b,a,c both happen
}

TEST_CASE("mx: no MX means the domain itself; NXDOMAIN, failures and null MX are errors") {
  std::mt19937 random(1);
  Result<std::vector<MxHost>> implicit = mx_hosts("d.test", answer({}), random);
  REQUIRE(implicit.ok());
  REQUIRE(implicit->size() == 1);
  CHECK((*implicit)[0].name == "d.test.");
  CHECK((*implicit)[0].implicit);
  CHECK(mx_hosts("d.test", answer({}, DnsOutcome::kNxDomain), random).status().code() == Status::Code::kNotFound);
  CHECK(mx_hosts("d.test", answer({}, DnsOutcome::kFailed), random).status().code() == Status::Code::kIoError);
  Result<std::vector<MxHost>> null_mx = mx_hosts("d.test", answer({mx("d.test.", 0, ".")}), random);
  CHECK(null_mx.status().code() == Status::Code::kInvalid);
  CHECK(next_hop_failure_reply(null_mx.status()) == "556 5.1.10 Destination domain does not accept mail (null MX)");
  Result<std::vector<MxHost>> mixed = mx_hosts("d.test", answer({mx("d.test.", 0, "."), mx("d.test.", 5, "m.test.")}), random);
  REQUIRE(mixed.ok());
  CHECK(names(*mixed) == std::vector<std::string>{"m.test."});
}

TEST_CASE("mx: looks up at most kMaxMxHosts hosts") {
  std::vector<DnsRecord> many;
  for (int i = 0; i < 20; ++i) many.push_back(mx("d.test.", static_cast<std::uint16_t>(i), "h.test."));
  for (int i = 0; i < 20; ++i) many[static_cast<std::size_t>(i)].target = "h" + std::to_string(i) + ".test.";
  std::mt19937 random(1);
  Result<std::vector<MxHost>> hosts = mx_hosts("d.test", answer(many), random);
  REQUIRE(hosts.ok());
  CHECK(hosts->size() == kMaxMxHosts);
  CHECK(hosts->front().name == "h0.test.");
}

TEST_CASE("mx: follows CNAME chains within an answer, a bounded number of hops") {
  std::vector<DnsRecord> chain = {cname("a.test.", "b.test."), cname("b.test.", "c.test.")};
  int hops = 0;
  CHECK(follow_cnames("A.test", chain, hops) == "c.test.");
  CHECK(hops == 2);
  std::vector<DnsRecord> loop = {cname("a.test.", "b.test."), cname("b.test.", "a.test.")};
  hops = 0;
  follow_cnames("a.test", loop, hops);
  CHECK(hops == kMaxCnameHops);
}

TEST_CASE("mx: knows which addresses are not public") {
  auto v4 = [](std::uint8_t a, std::uint8_t b) { return std::array<std::uint8_t, 4>{a, b, 1, 1}; };
  CHECK(std::string(non_public_reason(v4(127, 0))) == "loopback");
  CHECK(std::string(non_public_reason(v4(10, 0))) == "private (RFC 1918)");
  CHECK(std::string(non_public_reason(v4(172, 31))) == "private (RFC 1918)");
  CHECK(non_public_reason(v4(172, 32)) == nullptr);
  CHECK(std::string(non_public_reason(v4(192, 168))) == "private (RFC 1918)");
  CHECK(std::string(non_public_reason(v4(169, 254))) == "link-local");
  CHECK(std::string(non_public_reason(v4(100, 64))) == "shared address space (RFC 6598)");
  CHECK(non_public_reason(v4(100, 128)) == nullptr);
  CHECK(std::string(non_public_reason(v4(0, 0))) == "unspecified (0.0.0.0/8)");
  CHECK(std::string(non_public_reason(v4(224, 0))) == "multicast");
  CHECK(std::string(non_public_reason(v4(255, 255))) == "reserved (240.0.0.0/4)");
  CHECK(non_public_reason(v4(8, 8)) == nullptr);
  CHECK(std::string(non_public_reason(v6({}, 1))) == "loopback");
  CHECK(std::string(non_public_reason(v6({}, 0))) == "unspecified");
  CHECK(std::string(non_public_reason(v6({0xFE, 0x80}, 1))) == "link-local");
  CHECK(std::string(non_public_reason(v6({0xFD, 0x12}, 1))) == "unique local (private)");
  CHECK(std::string(non_public_reason(v6({0xFF, 0x02}, 1))) == "multicast");
  CHECK(std::string(non_public_reason(v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0}, 1))) == "loopback");
  CHECK(std::string(non_public_reason(v6({0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0}, 1))) ==
        "private (RFC 1918)");
  CHECK(non_public_reason(v6({0x20, 0x01, 0x0d, 0xb8}, 1)) == nullptr);
}

TEST_CASE("mx: plans IPv6 first, a few addresses per host, on the upstream port") {
  HostAddresses first{MxHost{"a.test.", 10, false}, {v6({0x20, 0x01, 0x0d, 0xb8}, 1)},
                      {{192, 0, 2, 1}, {192, 0, 2, 2}, {192, 0, 2, 3}}};
  HostAddresses second{MxHost{"b.test.", 20, false}, {}, {{192, 0, 2, 9}}};
  MxOptions o;
  o.port = 2525;
  Result<std::vector<Endpoint>> plan = plan_endpoints({first, second}, o, false);
  REQUIRE(plan.ok());
  CHECK(texts(*plan) == std::vector<std::string>{"[2001:db8::1]:2525", "192.0.2.1:2525", "192.0.2.2:2525",
                                                  "192.0.2.9:2525"});
  o.use_ipv6 = false;
  plan = plan_endpoints({first, second}, o, false);
  REQUIRE(plan.ok());
  CHECK(texts(*plan) == std::vector<std::string>{"192.0.2.1:2525", "192.0.2.2:2525", "192.0.2.3:2525",
                                                  "192.0.2.9:2525"});
}

TEST_CASE("mx: refuses loopback, private and our own addresses unless allowed") {
  HostAddresses local{MxHost{"a.test.", 10, false}, {v6({}, 1)}, {{127, 0, 0, 1}, {10, 1, 2, 3}}};
  HostAddresses ours{MxHost{"b.test.", 20, false}, {}, {{192, 0, 2, 77}}};
  MxOptions o;
  o.own_addresses = {"192.0.2.77"};
  Result<std::vector<Endpoint>> plan = plan_endpoints({local, ours}, o, false);
  CHECK(plan.status().code() == Status::Code::kCorruption);
  CHECK(plan.status().message().find("a.test. 127.0.0.1 is loopback") != std::string::npos);
  CHECK(plan.status().message().find("b.test. 192.0.2.77 is one of our own addresses") != std::string::npos);
  CHECK(next_hop_failure_reply(plan.status()).rfind("550 5.4.4 ", 0) == 0);
  HostAddresses mixed{MxHost{"c.test.", 10, false}, {}, {{10, 0, 0, 1}, {192, 0, 2, 5}}};
  CHECK(texts(*plan_endpoints({mixed}, o, false)) == std::vector<std::string>{"192.0.2.5:25"});
  o.allow_private = true;
  plan = plan_endpoints({local, ours}, o, false);
  REQUIRE(plan.ok());
  CHECK(plan->size() == 4);
}

TEST_CASE("mx: a domain without MX or address is not found; failed lookups are temporary") {
  MxOptions o;
  HostAddresses bare{MxHost{"d.test.", 0, true}, {}, {}};
  Result<std::vector<Endpoint>> plan = plan_endpoints({bare}, o, false);
  CHECK(plan.status().code() == Status::Code::kNotFound);
  CHECK(next_hop_failure_reply(plan.status()) == "550 5.1.2 Destination domain not found");
  CHECK(plan_endpoints({bare}, o, true).status().code() == Status::Code::kIoError);
  HostAddresses named{MxHost{"m.test.", 10, false}, {}, {}};
  Result<std::vector<Endpoint>> none = plan_endpoints({named}, o, false);
  CHECK(none.status().code() == Status::Code::kIoError);
  CHECK(next_hop_failure_reply(none.status()) == "451 4.4.3 Destination not reachable now, try again later");
}

// A fake server answering from a table "name./TYPE" → records; other questions get NXDOMAIN.
testing::Answerer zone(std::map<std::string, std::vector<std::string>> table) {
  return [table = std::move(table)](const testing::Bytes& q, bool) {
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, q.data(), q.size()) == LDNS_STATUS_OK);
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p), 0);
    char* name = ldns_rdf2str(ldns_rr_owner(question));
    char* type = ldns_rr_type2str(ldns_rr_get_type(question));
    std::string key = std::string(name) + "/" + type;
    std::free(name);
    std::free(type);
    ldns_pkt_free(p);
    testing::ReplySpec spec;
    auto it = table.find(key);
    if (it == table.end()) {
      spec.rcode = kRcodeNxDomain;
    } else {
      spec.answers = it->second;
    }
    return testing::make_reply(q, spec);
  };
}

// A base, so the loop is ready before the server (a member) watches its sockets.
struct ReadyLoop {
  ReadyLoop() { REQUIRE(loop.init().ok()); }
  EventLoop loop;
};

struct PlannerFixture : ReadyLoop {
  explicit PlannerFixture(std::map<std::string, std::vector<std::string>> table) : server(loop, zone(std::move(table))) {
    bound = loop.add_timer(5000, [this] { loop.stop(); });
  }
  Result<std::vector<Endpoint>> plan(const char* domain) {
    ResolverOptions ro;
    ro.servers = {server.endpoint()};
    ro.timeout_ms = 500;
    Resolver resolver(loop, ro);
    MxOptions mo;
    mo.port = 2525;
    MxPlanner planner(resolver, mo);
    Result<std::vector<Endpoint>> got = Status::io_error("never answered");
    planner.plan(domain, [&](Result<std::vector<Endpoint>> r) {
      got = std::move(r);
      loop.stop();
    });
    loop.run();
    return got;
  }
  testing::FakeServer server;
  EventLoop::TimerId bound = 0;
};

TEST_CASE("mx planner: follows an MX host's CNAME out of the answer and finds its addresses") {
  PlannerFixture f({{"d.test./MX", {"d.test. 300 IN MX 10 alias.other.test."}},
                    {"alias.other.test./A", {"alias.other.test. 300 IN CNAME mx.third.test."}},
                    {"alias.other.test./AAAA", {"alias.other.test. 300 IN CNAME mx.third.test."}},
                    {"mx.third.test./A", {"mx.third.test. 300 IN A 192.0.2.5"}},
                    {"mx.third.test./AAAA", {}}});
  Result<std::vector<Endpoint>> plan = f.plan("d.test");
  REQUIRE(plan.ok());
  CHECK(texts(*plan) == std::vector<std::string>{"192.0.2.5:2525"});
}

TEST_CASE("mx planner: implicit MX, null MX, NXDOMAIN and a CNAME loop") {
  PlannerFixture f({{"a.test./MX", {}},
                    {"a.test./A", {"a.test. 300 IN A 192.0.2.6"}},
                    {"a.test./AAAA", {"a.test. 300 IN AAAA 2001:db8::6"}},
                    {"null.test./MX", {"null.test. 300 IN MX 0 ."}},
                    {"loop.test./MX", {"loop.test. 300 IN CNAME loop2.test.", "loop2.test. 300 IN CNAME loop.test."}}});
  Result<std::vector<Endpoint>> implicit = f.plan("a.test");
  REQUIRE(implicit.ok());
  CHECK(texts(*implicit) == std::vector<std::string>{"[2001:db8::6]:2525", "192.0.2.6:2525"});
  CHECK(f.plan("null.test").status().code() == Status::Code::kInvalid);
  CHECK(f.plan("gone.test").status().code() == Status::Code::kNotFound);
  CHECK(f.plan("loop.test").status().code() == Status::Code::kIoError);
}

}  // namespace
}  // namespace emailroute
