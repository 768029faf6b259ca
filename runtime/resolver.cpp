// The asynchronous DNS client; see resolver.h.
#include "runtime/resolver.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace emailroute {

struct Resolver::Query {
  std::string key;
  std::string name;
  RrType type = RrType::kA;
  std::vector<Done> waiters;
  std::size_t attempt = 0;         // server = attempt % servers; round = attempt / servers
  std::vector<std::uint8_t> wire;  // the question as sent in this attempt
  int fd = -1;
  EventLoop::Token token = 0;
  EventLoop::TimerId timer = 0;
  std::vector<std::uint8_t> tcp_out;  // length-prefixed question
  std::size_t tcp_sent = 0;
  std::vector<std::uint8_t> tcp_in;
  std::string last_error;
};

namespace {

std::uint16_t random_id() {
  std::uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    id = static_cast<std::uint16_t>(EventLoop::now_ms() ^ reinterpret_cast<std::uintptr_t>(&id));
  }
  return id;
}

const char* rcode_name(std::uint8_t rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "an unexpected rcode";
  }
}

std::string key_of(std::string_view name, RrType type) { return canonical_name(name) + "/" + to_string(type); }

}  // namespace

Result<Endpoint> parse_dns_server(std::string_view text) {
  std::string t(text);
  std::size_t colons = static_cast<std::size_t>(std::count(t.begin(), t.end(), ':'));
  if (t.empty()) return Status::invalid("empty DNS server address");
  if (t.front() != '[' && colons > 1) t = "[" + t + "]:53";  // a bare IPv6 address
  else if (colons == 0) t += ":53";
  Result<Endpoint> e = parse_endpoint(t);
  if (!e.ok()) return Status::invalid("DNS server '" + std::string(text) + "': " + e.status().message());
  return e;
}

std::vector<Endpoint> servers_from_resolv_conf(std::string_view text) {
  std::vector<Endpoint> out;
  while (!text.empty() && out.size() < 3) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    constexpr std::string_view kKeyword = "nameserver";
    if (line.substr(0, kKeyword.size()) != kKeyword) continue;
    line.remove_prefix(kKeyword.size());
    std::size_t start = line.find_first_not_of(" \t");
    if (start == 0 || start == std::string_view::npos) continue;  // "nameserverX" or nothing after it
    line.remove_prefix(start);
    line = line.substr(0, line.find_first_of(" \t\r#;"));
    Result<Endpoint> e = parse_dns_server(line);  // a scoped "fe80::1%eth0" is skipped
    if (e.ok()) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<Endpoint>> dns_servers(std::string_view configured, const char* resolv_conf) {
  std::vector<Endpoint> out;
  if (!configured.empty()) {
    while (!configured.empty()) {
      std::size_t end = configured.find_first_of(", \t");
      std::string_view one = configured.substr(0, end);
      configured = end == std::string_view::npos ? std::string_view() : configured.substr(end + 1);
      if (one.empty()) continue;
      Result<Endpoint> e = parse_dns_server(one);
      if (!e.ok()) return e.status();
      out.push_back(std::move(*e));
    }
    if (out.empty()) return Status::invalid("dns_resolver names no server");
    return out;
  }
  std::FILE* f = std::fopen(resolv_conf, "re");
  if (f == nullptr) return Status::io_error(std::string(resolv_conf) + ": " + std::strerror(errno));
  std::string text(65536, '\0');  // resolv.conf is a few lines; anything past this is ignored
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  out = servers_from_resolv_conf(text);
  if (out.empty()) return Status::io_error(std::string(resolv_conf) + ": no usable nameserver line");
  return out;
}

Resolver::Resolver(EventLoop& loop, ResolverOptions options)
    : loop_(loop), options_(std::move(options)), buffer_(kMaxDnsMessage) {}

Resolver::~Resolver() {
  for (auto& [key, q] : queries_) close_io(*q);
}

void Resolver::resolve(std::string_view name, RrType type, Done done) {
  std::string key = key_of(name, type);
  auto cached = cache_.find(key);
  if (cached != cache_.end()) {
    if (cached->second.expires_ms > EventLoop::now_ms()) {
      ++stats_.cache_hits;
      DnsAnswer copy = cached->second.answer;  // the callback may resolve again and rehash the cache
      done(copy);
      return;
    }
    cache_.erase(cached);
  }
  auto flying = queries_.find(key);
  if (flying != queries_.end()) {
    flying->second->waiters.push_back(std::move(done));
    return;
  }
  auto q = std::make_unique<Query>();
  q->key = key;
  q->name = canonical_name(name);
  q->type = type;
  q->waiters.push_back(std::move(done));
  Query& ref = *q;
  queries_.emplace(key, std::move(q));
  start_attempt(ref);
}

void Resolver::start_attempt(Query& q) {
  std::size_t servers = options_.servers.size();
  if (servers == 0 || q.attempt >= servers * static_cast<std::size_t>(std::max(options_.rounds, 1))) {
    DnsAnswer failed;
    failed.error = q.last_error.empty() ? "no DNS server to ask" : q.last_error;
    return finish(q, std::move(failed), std::nullopt);
  }
  Result<std::vector<std::uint8_t>> wire = build_query(q.name, q.type, random_id());
  if (!wire.ok()) {  // a name that cannot be asked cannot exist
    DnsAnswer nx;
    nx.outcome = DnsOutcome::kNxDomain;
    return finish(q, std::move(nx), std::nullopt);
  }
  q.wire = std::move(*wire);
  const Endpoint& server = options_.servers[q.attempt % servers];
  q.fd = socket(server.address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (q.fd < 0) return next_attempt(q, std::string("socket: ") + std::strerror(errno));
  // connect(): the kernel picks a random ephemeral port and drops datagrams from other addresses.
  if (connect(q.fd, reinterpret_cast<const sockaddr*>(&server.address), server.length) != 0 ||
      send(q.fd, q.wire.data(), q.wire.size(), 0) != static_cast<ssize_t>(q.wire.size())) {
    return next_attempt(q, server.text + ": " + std::strerror(errno));
  }
  ++stats_.udp_queries;
  Result<EventLoop::Token> t = loop_.watch(q.fd, EPOLLIN, [this, &q](std::uint32_t) { on_udp(q); });
  if (!t.ok()) return next_attempt(q, t.status().message());
  q.token = *t;
  q.timer = loop_.add_timer(options_.timeout_ms, [this, &q] {
    q.timer = 0;
    ++stats_.timeouts;
    next_attempt(q, options_.servers[q.attempt % options_.servers.size()].text + ": no answer within " +
                        std::to_string(options_.timeout_ms) + " ms");
  });
}

void Resolver::next_attempt(Query& q, std::string why) {
  close_io(q);
  q.last_error = std::move(why);
  ++q.attempt;
  start_attempt(q);
}

// One datagram per call: the watch is level-triggered, so the loop calls
// again while more are queued, and `q` is never touched after on_reply
// (which may finish it).
void Resolver::on_udp(Query& q) {
  ssize_t n = recv(q.fd, buffer_.data(), buffer_.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    // ECONNREFUSED: an ICMP port unreachable; nobody serves DNS there.
    return next_attempt(q, options_.servers[q.attempt % options_.servers.size()].text + ": " + std::strerror(errno));
  }
  on_reply(q, std::span<const std::uint8_t>(buffer_.data(), static_cast<std::size_t>(n)), false);
}

void Resolver::on_reply(Query& q, std::span<const std::uint8_t> bytes, bool over_tcp) {
  Result<DnsReply> reply = parse_reply(bytes, q.wire);
  const std::string& server = options_.servers[q.attempt % options_.servers.size()].text;
  if (!reply.ok()) {
    ++stats_.dropped_replies;
    if (over_tcp) next_attempt(q, server + ": " + reply.status().message());  // TCP cannot be spoofed blindly
    return;  // over UDP: keep waiting for the real answer
  }
  if (reply->truncated) {
    if (over_tcp) return next_attempt(q, server + ": truncated reply over TCP");
    return start_tcp(q);
  }
  if (reply->rcode == kRcodeNoError || reply->rcode == kRcodeNxDomain) {
    DnsAnswer answer;
    answer.outcome = reply->rcode == kRcodeNoError ? DnsOutcome::kAnswer : DnsOutcome::kNxDomain;
    answer.records = std::move(reply->answers);
    return finish(q, std::move(answer), reply->negative_ttl);
  }
  next_attempt(q, server + ": " + rcode_name(reply->rcode));
}

void Resolver::start_tcp(Query& q) {
  close_io(q);
  const Endpoint& server = options_.servers[q.attempt % options_.servers.size()];
  Result<int> fd = connect_to(server);
  if (!fd.ok()) return next_attempt(q, fd.status().message());
  q.fd = *fd;
  ++stats_.tcp_queries;
  q.tcp_out.clear();
  q.tcp_out.push_back(static_cast<std::uint8_t>(q.wire.size() >> 8));
  q.tcp_out.push_back(static_cast<std::uint8_t>(q.wire.size()));
  q.tcp_out.insert(q.tcp_out.end(), q.wire.begin(), q.wire.end());
  q.tcp_sent = 0;
  q.tcp_in.clear();
  Result<EventLoop::Token> t = loop_.watch(q.fd, EPOLLOUT, [this, &q](std::uint32_t ev) { on_tcp(q, ev); });
  if (!t.ok()) return next_attempt(q, t.status().message());
  q.token = *t;
  q.timer = loop_.add_timer(options_.timeout_ms, [this, &q] {
    q.timer = 0;
    ++stats_.timeouts;
    next_attempt(q, options_.servers[q.attempt % options_.servers.size()].text + ": no answer over TCP within " +
                        std::to_string(options_.timeout_ms) + " ms");
  });
}

void Resolver::on_tcp(Query& q, std::uint32_t) {
  const std::string& server = options_.servers[q.attempt % options_.servers.size()].text;
  if (q.tcp_sent < q.tcp_out.size()) {
    ssize_t n = send(q.fd, q.tcp_out.data() + q.tcp_sent, q.tcp_out.size() - q.tcp_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return next_attempt(q, server + " (TCP): " + std::strerror(errno));
    }
    q.tcp_sent += static_cast<std::size_t>(n);
    if (q.tcp_sent == q.tcp_out.size()) loop_.modify(q.token, EPOLLIN);
    return;
  }
  // Reads only what the length prefix announced, so the buffer never exceeds 2 + 65535 bytes.
  std::size_t want = q.tcp_in.size() < 2 ? 2 : 2 + ((std::size_t{q.tcp_in[0]} << 8) | q.tcp_in[1]);
  std::size_t have = q.tcp_in.size();
  q.tcp_in.resize(want);
  ssize_t n = recv(q.fd, q.tcp_in.data() + have, want - have, 0);
  if (n <= 0) {
    q.tcp_in.resize(have);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    return next_attempt(q, server + " (TCP): " + (n == 0 ? "closed before the whole reply" : std::strerror(errno)));
  }
  q.tcp_in.resize(have + static_cast<std::size_t>(n));
  if (q.tcp_in.size() < 2) return;
  std::size_t total = 2 + ((std::size_t{q.tcp_in[0]} << 8) | q.tcp_in[1]);
  if (q.tcp_in.size() < total) return;  // more to come (level-triggered: called again)
  std::vector<std::uint8_t> message(q.tcp_in.begin() + 2, q.tcp_in.end());
  on_reply(q, message, true);
}

void Resolver::close_io(Query& q) {
  if (q.token != 0) loop_.unwatch(q.token);
  if (q.timer != 0) loop_.cancel_timer(q.timer);
  if (q.fd >= 0) close(q.fd);
  q.token = 0;
  q.timer = 0;
  q.fd = -1;
}

void Resolver::finish(Query& q, DnsAnswer answer, std::optional<std::uint32_t> negative_ttl) {
  close_io(q);
  if (answer.outcome != DnsOutcome::kFailed) remember(q.key, answer, negative_ttl);
  std::vector<Done> waiters = std::move(q.waiters);
  queries_.erase(q.key);  // `q` is gone from here: a waiter asking again starts afresh
  for (Done& done : waiters) done(answer);
}

void Resolver::remember(const std::string& key, const DnsAnswer& answer, std::optional<std::uint32_t> negative_ttl) {
  std::uint32_t ttl = 0;
  if (answer.outcome == DnsOutcome::kAnswer && !answer.records.empty()) {
    ttl = options_.max_ttl;
    for (const DnsRecord& r : answer.records) ttl = std::min(ttl, r.ttl);
  } else if (negative_ttl) {
    ttl = std::min(*negative_ttl, options_.max_negative_ttl);
  }
  if (ttl == 0 || options_.cache_entries == 0) return;
  std::int64_t now = EventLoop::now_ms();
  if (cache_.size() >= options_.cache_entries && !cache_.contains(key)) {
    std::erase_if(cache_, [now](const auto& e) { return e.second.expires_ms <= now; });
    if (cache_.size() >= options_.cache_entries) {  // still full: drop the entry closest to expiring
      auto soonest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
        return a.second.expires_ms < b.second.expires_ms;
      });
      cache_.erase(soonest);
    }
  }
  cache_[key] = CacheEntry{answer, now + static_cast<std::int64_t>(ttl) * 1000};
}

}  // namespace emailroute
