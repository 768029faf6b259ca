// Test-only driver for the relay's asynchronous resolver and MX planner, run
// by tests/integration/dns/resolver_test.py against NSD on loopback. Plans
// every DOMAIN at once in one event loop and prints, in argument order:
//   DOMAIN ok ENDPOINT...            or   DOMAIN fail REPLY | WHY
// With --query TYPE, prints the records of each NAME instead. Ends with the
// resolver's counters: "stats udp=N tcp=N timeouts=N dropped=N cache_hits=N".
//
// Usage: resolve_mx --server IP[:PORT] [--server ...] [--timeout-ms N]
//                   [--port N] [--allow-private] [--no-ipv6] [--query TYPE] NAME...
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/mx_plan.h"
#include "runtime/next_hop.h"
#include "runtime/resolver.h"

using namespace emailroute;

namespace {

int usage() {
  std::fprintf(stderr, "usage: resolve_mx --server IP[:PORT]... [--timeout-ms N] [--port N] [--allow-private] "
                       "[--no-ipv6] [--query A|AAAA|MX|CNAME] NAME...\n");
  return 2;
}

std::string record_text(const DnsRecord& r) {
  char ip[INET6_ADDRSTRLEN] = "";
  switch (r.type) {
    case RrType::kA: inet_ntop(AF_INET, r.address.data(), ip, sizeof ip); return ip;
    case RrType::kAaaa: inet_ntop(AF_INET6, r.address.data(), ip, sizeof ip); return ip;
    case RrType::kMx: return std::to_string(r.preference) + " " + r.target;
    case RrType::kCname: return r.target;
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  std::string servers;
  ResolverOptions ro;
  MxOptions mo;
  std::string query_type;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--server" && has_value) servers += std::string(servers.empty() ? "" : ",") + argv[++i];
    else if (a == "--timeout-ms" && has_value) ro.timeout_ms = std::atoi(argv[++i]);
    else if (a == "--port" && has_value) mo.port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    else if (a == "--query" && has_value) query_type = argv[++i];
    else if (a == "--allow-private") mo.allow_private = true;
    else if (a == "--no-ipv6") mo.use_ipv6 = false;
    else if (!a.empty() && a[0] == '-') return usage();
    else names.push_back(a);
  }
  if (servers.empty() || names.empty()) return usage();  // never the machine's own resolver
  Result<std::vector<Endpoint>> list = dns_servers(servers);
  if (!list.ok()) {
    std::fprintf(stderr, "resolve_mx: %s\n", list.status().message().c_str());
    return 2;
  }
  ro.servers = *list;
  mo.own_addresses = local_addresses();
  EventLoop loop;
  if (!loop.init().ok()) return 1;
  Resolver resolver(loop, ro);
  MxPlanner planner(resolver, mo);
  std::vector<std::string> lines(names.size());
  std::size_t pending = names.size();
  auto done_one = [&] {
    if (--pending == 0) loop.stop();
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!query_type.empty()) {
      RrType t = query_type == "A" ? RrType::kA : query_type == "AAAA" ? RrType::kAaaa
               : query_type == "MX" ? RrType::kMx : RrType::kCname;
      resolver.resolve(names[i], t, [&, i](const DnsAnswer& a) {
        std::string line = names[i];
        if (a.outcome == DnsOutcome::kNxDomain) line += " nxdomain";
        else if (a.outcome == DnsOutcome::kFailed) line += " fail " + a.error;
        else line += " records " + std::to_string(a.records.size());
        for (const DnsRecord& r : a.records) line += "\n  " + r.owner + " " + to_string(r.type) + " " + record_text(r);
        lines[i] = line;
        done_one();
      });
      continue;
    }
    planner.plan(names[i], [&, i](Result<std::vector<Endpoint>> plan) {
      std::string line = names[i];
      if (plan.ok()) {
        line += " ok";
        for (const Endpoint& e : *plan) line += " " + e.text;
      } else {
        line += " fail " + next_hop_failure_reply(plan.status()) + " | " + plan.status().message();
      }
      lines[i] = line;
      done_one();
    });
  }
  EventLoop::TimerId bound = loop.add_timer(30000, [&] { loop.stop(); });
  if (pending > 0) loop.run();
  loop.cancel_timer(bound);
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::printf("%s\n", lines[i].empty() ? (names[i] + " unfinished").c_str() : lines[i].c_str());
  }
  const ResolverStats& s = resolver.stats();
  std::printf("stats udp=%llu tcp=%llu timeouts=%llu dropped=%llu cache_hits=%llu\n",
              static_cast<unsigned long long>(s.udp_queries), static_cast<unsigned long long>(s.tcp_queries),
              static_cast<unsigned long long>(s.timeouts), static_cast<unsigned long long>(s.dropped_replies),
              static_cast<unsigned long long>(s.cache_hits));
  return pending == 0 ? 0 : 1;
}
