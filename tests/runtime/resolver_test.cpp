// The asynchronous resolver against fake DNS servers on 127.0.0.1 that live
// in the same event loop: UDP answers, TC then TCP, a server that never
// answers, forged IDs, SERVFAIL/NXDOMAIN, sharing, caching, cancellation.
// Every run of the loop is bounded by a timer.
#include "runtime/resolver.h"

#include <doctest/doctest.h>

#include <set>

#include "tests/runtime/dns_fakes.h"

namespace emailroute {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing::FakeServer;

Bytes a_reply(const Bytes& q) { return testing::answer_reply(q, {"a.test. 300 IN A 192.0.2.1"}); }

struct Fixture {
  Fixture() {
    REQUIRE(loop.init().ok());
    bound = loop.add_timer(5000, [this] { loop.stop(); });
  }
  ~Fixture() { loop.cancel_timer(bound); }
  ResolverOptions options(std::vector<Endpoint> servers) {
    ResolverOptions o;
    o.servers = std::move(servers);
    o.timeout_ms = 300;
    return o;
  }
  // Resolves one question and runs the loop until the answer (or the bound).
  DnsAnswer ask(Resolver& r, const char* name, RrType type = RrType::kA) {
    DnsAnswer got;
    got.error = "never answered";
    r.resolve(name, type, [&](const DnsAnswer& a) {
      got = a;
      loop.stop();
    });
    if (got.error == "never answered") loop.run();
    return got;
  }
  EventLoop loop;
  EventLoop::TimerId bound = 0;
};

TEST_CASE("resolver: answers over UDP, then from the cache") {
  Fixture f;
  FakeServer server(f.loop, [](const Bytes& q, bool) { return a_reply(q); });
  Resolver r(f.loop, f.options({server.endpoint()}));
  DnsAnswer a = f.ask(r, "A.test");
  REQUIRE(a.outcome == DnsOutcome::kAnswer);
  REQUIRE(a.records.size() == 1);
  CHECK(a.records[0].address[3] == 1);
  DnsAnswer again = f.ask(r, "a.test.");
  CHECK(again.outcome == DnsOutcome::kAnswer);
  CHECK(server.udp_queries.size() == 1);
  CHECK(r.stats().cache_hits == 1);
}

TEST_CASE("resolver: asks again over TCP when the UDP reply is truncated") {
  Fixture f;
  FakeServer server(f.loop, [](const Bytes& q, bool tcp) {
    testing::ReplySpec spec;
    spec.truncated = !tcp;
    spec.answers = {"a.test. 300 IN A 192.0.2.1", "a.test. 300 IN A 192.0.2.2"};
    return testing::make_reply(q, spec);
  });
  Resolver r(f.loop, f.options({server.endpoint()}));
  DnsAnswer a = f.ask(r, "a.test");
  REQUIRE(a.outcome == DnsOutcome::kAnswer);
  CHECK(a.records.size() == 2);
  CHECK(server.tcp_queries.size() == 1);
  CHECK(r.stats().tcp_queries == 1);
}

TEST_CASE("resolver: moves on to the next server when one never answers") {
  Fixture f;
  FakeServer silent(f.loop, [](const Bytes&, bool) { return Bytes(); });
  FakeServer good(f.loop, [](const Bytes& q, bool) { return a_reply(q); });
  Resolver r(f.loop, f.options({silent.endpoint(), good.endpoint()}));
  std::int64_t start = EventLoop::now_ms();
  DnsAnswer a = f.ask(r, "a.test");
  CHECK(a.outcome == DnsOutcome::kAnswer);
  CHECK(EventLoop::now_ms() - start >= 300);
  CHECK(r.stats().timeouts == 1);
  CHECK(silent.udp_queries.size() == 1);
}

TEST_CASE("resolver: fails after every round of every server timed out") {
  Fixture f;
  FakeServer silent(f.loop, [](const Bytes&, bool) { return Bytes(); });
  ResolverOptions o = f.options({silent.endpoint()});
  o.timeout_ms = 100;
  Resolver r(f.loop, o);
  DnsAnswer a = f.ask(r, "a.test");
  CHECK(a.outcome == DnsOutcome::kFailed);
  CHECK(a.error.find("no answer within 100 ms") != std::string::npos);
  CHECK(silent.udp_queries.size() == 2);
}

TEST_CASE("resolver: drops a reply with a forged ID and waits for the real one") {
  Fixture f;
  FakeServer server(f.loop, [&](const Bytes& q, bool) {
    Bytes forged = a_reply(q);
    forged[0] ^= 0xFF;
    return forged;
  });
  FakeServer good(f.loop, [](const Bytes& q, bool) { return a_reply(q); });
  Resolver r(f.loop, f.options({server.endpoint(), good.endpoint()}));
  DnsAnswer a = f.ask(r, "a.test");
  CHECK(a.outcome == DnsOutcome::kAnswer);
  CHECK(r.stats().dropped_replies == 1);
  CHECK(r.stats().timeouts == 1);  // the forged reply did not end the wait early
}

TEST_CASE("resolver: SERVFAIL tries the next server; NXDOMAIN is cached for the SOA's time") {
  Fixture f;
  FakeServer failing(f.loop, [](const Bytes& q, bool) {
    testing::ReplySpec spec;
    spec.rcode = kRcodeServFail;
    return testing::make_reply(q, spec);
  });
  FakeServer nx(f.loop, [](const Bytes& q, bool) {
    testing::ReplySpec spec;
    spec.rcode = kRcodeNxDomain;
    spec.authority = {"test. 300 IN SOA ns.test. host.test. 1 3600 600 86400 60"};
    return testing::make_reply(q, spec);
  });
  {
    Resolver r(f.loop, f.options({failing.endpoint()}));
    DnsAnswer a = f.ask(r, "a.test");
    CHECK(a.outcome == DnsOutcome::kFailed);
    CHECK(a.error.find("SERVFAIL") != std::string::npos);
    CHECK(r.cache_size() == 0);
  }
  Resolver r(f.loop, f.options({failing.endpoint(), nx.endpoint()}));
  CHECK(f.ask(r, "gone.test").outcome == DnsOutcome::kNxDomain);
  CHECK(f.ask(r, "gone.test").outcome == DnsOutcome::kNxDomain);
  CHECK(nx.udp_queries.size() == 1);
  CHECK(r.stats().timeouts == 0);
}

TEST_CASE("resolver: one query for identical questions in flight, with random IDs") {
  Fixture f;
  FakeServer server(f.loop, [](const Bytes& q, bool) { return a_reply(q); });
  Resolver r(f.loop, f.options({server.endpoint()}));
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    r.resolve("a.test", RrType::kA, [&](const DnsAnswer& a) {
      CHECK(a.outcome == DnsOutcome::kAnswer);
      if (++answered == 3) f.loop.stop();
    });
  }
  f.loop.run();
  CHECK(answered == 3);
  CHECK(server.udp_queries.size() == 1);
  std::set<std::uint16_t> ids;
  for (int i = 0; i < 8; ++i) {
    f.ask(r, ("n" + std::to_string(i) + ".test").c_str());
    const Bytes& q = server.udp_queries.back();
    ids.insert(static_cast<std::uint16_t>((q[0] << 8) | q[1]));
  }
  CHECK(ids.size() > 1);
}

TEST_CASE("resolver: keeps the cache within its bound") {
  Fixture f;
  // Answers an A record for whatever name it is asked.
  FakeServer any(f.loop, [](const Bytes& q, bool) {
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, q.data(), q.size()) == LDNS_STATUS_OK);
    char* name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
    Bytes reply = testing::answer_reply(q, {std::string(name) + " 300 IN A 192.0.2.9"});
    std::free(name);
    ldns_pkt_free(p);
    return reply;
  });
  ResolverOptions small = f.options({any.endpoint()});
  small.cache_entries = 2;
  Resolver r(f.loop, small);
  for (const char* n : {"x.test", "y.test", "z.test"}) CHECK(f.ask(r, n).records.size() == 1);
  CHECK(r.cache_size() == 2);
  CHECK(any.udp_queries.size() == 3);
}

TEST_CASE("resolver: abandons queries in flight when destroyed") {
  Fixture f;
  FakeServer silent(f.loop, [](const Bytes&, bool) { return Bytes(); });
  bool called = false;
  {
    Resolver r(f.loop, f.options({silent.endpoint()}));
    r.resolve("a.test", RrType::kA, [&](const DnsAnswer&) { called = true; });
  }
  f.loop.add_timer(700, [&] { f.loop.stop(); });
  f.loop.run();
  CHECK_FALSE(called);
}

TEST_CASE("resolver: reads servers from dns_resolver and from resolv.conf text") {
  Result<Endpoint> v4 = parse_dns_server("127.0.0.1");
  REQUIRE(v4.ok());
  CHECK(v4->text == "127.0.0.1:53");
  CHECK(parse_dns_server("127.0.0.1:5353")->text == "127.0.0.1:5353");
  CHECK(parse_dns_server("::1").ok());
  CHECK(parse_dns_server("[::1]:5353").ok());
  CHECK_FALSE(parse_dns_server("resolver.example").ok());
  CHECK_FALSE(parse_dns_server("127.0.0.1:99999").ok());
  std::vector<Endpoint> s = servers_from_resolv_conf(
      "# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver\t::1 # local\nnameserverX 1.1.1.1\n"
      "nameserver fe80::1%eth0\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n");
  REQUIRE(s.size() == 3);
  CHECK(s[0].text == "192.0.2.53:53");
  CHECK(s[1].text == "[::1]:53");
  CHECK(s[2].text == "192.0.2.54:53");
  Result<std::vector<Endpoint>> list = dns_servers("127.0.0.1:5300, [::1]:5301", "/nonexistent");
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK_FALSE(dns_servers("127.0.0.1, nope", "/nonexistent").ok());
  CHECK_FALSE(dns_servers("", "/nonexistent/resolv.conf").ok());
}

}  // namespace
}  // namespace emailroute
