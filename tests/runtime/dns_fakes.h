// Test helpers: DNS replies in real wire form, built with ldns from a query
// and records in zone-file syntax, and a fake DNS server on 127.0.0.1 that
// lives in the test's event loop (UDP, and TCP on the same port).
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/net.h"

namespace emailroute::testing {

struct ReplySpec {
  std::vector<std::string> answers;    // "example.com. 300 IN MX 10 mx.example.com."
  std::vector<std::string> authority;  // e.g. an SOA for negative answers
  std::uint8_t rcode = 0;
  bool truncated = false;
};

/// The reply to `query` holding `spec`; empty when ldns refuses a record.
inline std::vector<std::uint8_t> make_reply(std::span<const std::uint8_t> query, const ReplySpec& spec) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, query.data(), query.size()) != LDNS_STATUS_OK) return {};
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_ra(pkt, true);
  ldns_pkt_set_tc(pkt, spec.truncated);
  ldns_pkt_set_rcode(pkt, spec.rcode);
  auto push = [&](const std::vector<std::string>& rrs, ldns_pkt_section section) {
    for (const std::string& text : rrs) {
      ldns_rr* rr = nullptr;
      if (ldns_rr_new_frm_str(&rr, text.c_str(), 300, nullptr, nullptr) != LDNS_STATUS_OK) return false;
      ldns_pkt_push_rr(pkt, section, rr);
    }
    return true;
  };
  std::vector<std::uint8_t> out;
  if (push(spec.answers, LDNS_SECTION_ANSWER) && push(spec.authority, LDNS_SECTION_AUTHORITY)) {
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK) out.assign(wire, wire + size);
    std::free(wire);
  }
  ldns_pkt_free(pkt);
  return out;
}

/// A NOERROR reply holding `answers`.
inline std::vector<std::uint8_t> answer_reply(std::span<const std::uint8_t> query, std::vector<std::string> answers) {
  ReplySpec spec;
  spec.answers = std::move(answers);
  return make_reply(query, spec);
}

using Bytes = std::vector<std::uint8_t>;
using Answerer = std::function<Bytes(const Bytes& query, bool over_tcp)>;  // empty: stay silent

// A DNS server on 127.0.0.1 (UDP, and TCP on the same port) inside `loop`.
class FakeServer {
 public:
  FakeServer(EventLoop& loop, Answerer answer) : loop_(loop), answer_(std::move(answer)) {
    // The kernel picks a free UDP port; the same TCP port may be taken (by
    // another test's connection), so try again with another, a bounded number of times.
    bool bound = false;
    for (int attempt = 0; attempt < 50 && !bound; ++attempt) {
      if (attempt > 0) close(udp_), close(tcp_);
      udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      REQUIRE(bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      socklen_t len = sizeof a;
      getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
      tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      bound = bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    REQUIRE(bound);
    REQUIRE(listen(tcp_, 8) == 0);
    tokens_.push_back(*loop_.watch(udp_, EPOLLIN, [this](std::uint32_t) { on_udp(); }));
    tokens_.push_back(*loop_.watch(tcp_, EPOLLIN, [this](std::uint32_t) { on_accept(); }));
  }
  ~FakeServer() {
    for (EventLoop::Token t : tokens_) loop_.unwatch(t);
    for (int fd : conns_) close(fd);
    close(udp_);
    close(tcp_);
  }
  Endpoint endpoint() const { return *parse_endpoint("127.0.0.1:" + std::to_string(port_)); }
  std::vector<Bytes> udp_queries, tcp_queries;

 private:
  void on_udp() {
    std::uint8_t buf[4096];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) return;
    Bytes q(buf, buf + n);
    udp_queries.push_back(q);
    Bytes r = answer_(q, false);
    if (!r.empty()) sendto(udp_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
  void on_accept() {
    int fd = accept4(tcp_, nullptr, nullptr, SOCK_NONBLOCK);
    if (fd < 0) return;
    conns_.push_back(fd);
    auto in = std::make_shared<Bytes>();
    tokens_.push_back(*loop_.watch(fd, EPOLLIN, [this, fd, in](std::uint32_t) {
      std::uint8_t buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      in->insert(in->end(), buf, buf + n);
      if (in->size() < 2 || in->size() < 2u + ((std::size_t{(*in)[0]} << 8) | (*in)[1])) return;
      Bytes q(in->begin() + 2, in->end());
      tcp_queries.push_back(q);
      Bytes r = answer_(q, true);
      Bytes framed = {static_cast<std::uint8_t>(r.size() >> 8), static_cast<std::uint8_t>(r.size())};
      framed.insert(framed.end(), r.begin(), r.end());
      REQUIRE(write(fd, framed.data(), framed.size()) == static_cast<ssize_t>(framed.size()));
      in->clear();
    }));
  }
  EventLoop& loop_;
  Answerer answer_;
  int udp_ = -1, tcp_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> conns_;
  std::vector<EventLoop::Token> tokens_;
};

}  // namespace emailroute::testing
