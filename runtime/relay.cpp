// The relay process; see relay.h.
#include "runtime/relay.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "runtime/logfmt.h"
#include "runtime/net.h"

namespace emailroute {

Relay::~Relay() {
  connections_.clear();
  pool_.close_all();
  close_listeners();
  set_log_batching(false);  // writes what is held
}

Status Relay::load() {
  Result<Table> table = loader_();
  if (!table.ok()) return table.status();
  Result<std::shared_ptr<const RoutingSnapshot>> snapshot =
      make_snapshot(std::move(*table), routing_.get(), [this](const RelaySettings& s) { return mx_next_hop(s); });
  if (!snapshot.ok()) return snapshot.status();
  routing_ = std::move(*snapshot);
  return Status::ok_status();
}

Result<std::unique_ptr<NextHop>> Relay::mx_next_hop(const RelaySettings& settings) {
  Result<std::vector<Endpoint>> servers = dns_servers(settings.dns_resolver);
  if (!servers.ok()) return Status::invalid("no deliver_via, and no DNS server for MX lookups: " + servers.status().message());
  std::string names;
  for (const Endpoint& e : *servers) names += (names.empty() ? "" : ",") + e.text;
  std::uint16_t port = settings.upstream_port != 0 ? settings.upstream_port : 25;
  std::string key = names + "|" + std::to_string(port) + "|" + (settings.allow_private_destinations ? "private" : "public");
  std::unique_ptr<MxService>& service = mx_services_[key];
  if (!service) {
    ResolverOptions r;
    r.servers = std::move(*servers);
    MxOptions m;
    m.port = port;
    m.allow_private = settings.allow_private_destinations;
    m.use_ipv6 = has_public_ipv6();
    m.own_addresses = local_addresses();
    service = std::make_unique<MxService>(loop_, std::move(r), std::move(m));
  }
  return make_mx_next_hop(service->planner, "MX via DNS " + names);
}

Status Relay::start() {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%08llX%04X", static_cast<unsigned long long>(std::time(nullptr)) & 0xFFFFFFFFull,
                static_cast<unsigned>(getpid()) & 0xFFFFu);
  id_prefix_ = prefix;
  if (Status s = loop_.init(); !s.ok()) return s;
  if (Status s = load(); !s.ok()) return s;
  std::vector<std::string> addresses = options_.listen.empty() ? routing_->listen : options_.listen;
  if (addresses.empty()) return Status::invalid("nothing to listen on");
  for (const std::string& text : addresses) {
    Result<Endpoint> endpoint = parse_endpoint(text);
    if (!endpoint.ok()) return endpoint.status();
    Result<int> fd = listen_on(*endpoint, options_.reuse_port);
    if (!fd.ok()) return fd.status();
    int listener = *fd;
    Result<EventLoop::Token> t = loop_.watch(listener, EPOLLIN, [this, listener](std::uint32_t) { accept_on(listener); });
    if (!t.ok()) return t.status();
    listeners_.emplace_back(listener, *t);
    LogLine("listening").add("addr", local_address(listener)).add("hostname", routing_->hostname)
        .add("next_hop", routing_->next_hop->description()).emit();
  }
  Status s = loop_.watch_signals({SIGHUP, SIGTERM, SIGINT}, [this](int sig) { on_signal(sig); });
  if (s.ok()) {  // from here on, log lines wait for the end of their batch of events
    set_log_batching(true);
    loop_.after_each_batch(flush_log);
  }
  return s;
}

int Relay::run() {
  loop_.run();
  LogLine("stopped").add("connections_cut", static_cast<std::int64_t>(connections_.size())).emit();
  flush_log();
  return 0;
}

std::string Relay::next_id() {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%06llX", static_cast<unsigned long long>(++ids_));
  return id_prefix_ + suffix;
}

void Relay::accept_on(int listener) {
  for (int i = 0; i < 64; ++i) {  // a bounded batch, so one busy listener cannot starve the rest
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = accept4(listener, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_listener(listener);
      return;
    }
    const sockaddr* a = reinterpret_cast<const sockaddr*>(&address);
    std::string ip = address_ip(a, length);
    if (stopping_ || connections_.size() >= options_.max_connections ||
        per_ip_[ip] >= options_.max_connections_per_ip) {
      std::string reply = "421 4.7.0 " + routing_->hostname + " Too many connections, try again later\r\n";
      ssize_t ignored = send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)ignored;  // best effort: the sender retries either way
      close(fd);
      LogLine("connection-refused").add("client", format_address(a, length)).add("why", "connection limit").emit();
      if (per_ip_[ip] == 0) per_ip_.erase(ip);
      continue;
    }
    auto inbound = std::make_unique<Inbound>(*this, fd, format_address(a, length), ip);
    Inbound* raw = inbound.get();
    ++per_ip_[ip];
    connections_.emplace(raw, std::move(inbound));
    if (Status s = raw->start(); !s.ok()) {
      LogLine("connection-failed").add("why", s.message()).emit();
      finished(*raw);
    }
  }
}

// Out of descriptors: the pending connection stays in the backlog and the
// (level-triggered) listener would wake the loop forever, so it is not
// watched for a moment.
void Relay::pause_listener(int listener) {
  for (auto& [fd, token] : listeners_) {
    if (fd != listener) continue;
    loop_.modify(token, 0);
    LogLine("accept-paused").add("why", std::strerror(errno)).emit();
    EventLoop::Token t = token;
    loop_.add_timer(100, [this, t] {
      if (!stopping_) loop_.modify(t, EPOLLIN);
    });
  }
}

void Relay::finished(Inbound& inbound) {
  Inbound* key = &inbound;
  loop_.defer([this, key] {
    auto it = connections_.find(key);
    if (it == connections_.end()) return;
    auto ip = per_ip_.find(key->peer_ip());
    if (ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
    connections_.erase(it);
    if (stopping_ && connections_.empty()) loop_.stop();
  });
}

void Relay::on_signal(int signal) {
  if (signal == SIGHUP) {
    if (Status s = load(); !s.ok()) {
      LogLine("reload-failed").add("why", s.message()).add("kept", "previous table").emit();
    } else {
      LogLine("reloaded").add("hostname", routing_->hostname).add("next_hop", routing_->next_hop->description()).emit();
    }
    return;
  }
  begin_shutdown();
}

void Relay::close_listeners() {
  for (auto& [fd, token] : listeners_) {
    loop_.unwatch(token);
    close(fd);
  }
  listeners_.clear();
}

void Relay::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  LogLine("stopping").add("connections", static_cast<std::int64_t>(connections_.size())).emit();
  close_listeners();
  pool_.close_all();
  if (connections_.empty()) return loop_.stop();
  std::vector<Inbound*> all;
  for (auto& [raw, owned] : connections_) all.push_back(raw);
  for (Inbound* c : all) c->shut_down();
  loop_.add_timer(options_.shutdown_grace_ms, [this] { loop_.stop(); });
}

}  // namespace emailroute
