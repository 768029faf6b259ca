// One sender's connection: the socket, its ServerSession, the transaction in
// progress and the Upstream it is forwarded through. This is where a sender's
// RCPT becomes a destination's RCPT and the destination's answer becomes the
// sender's, and where the message streams from one socket to the other.
//
// Choices:
// - One destination connection (a leg) per destination address of the
//   transaction, so each destination accepts or refuses on its own: a
//   recipient fanned out to several destinations is accepted only when every
//   one of them accepted its RCPT (else the legs opened for it are reset),
//   and the message is accepted only when every leg accepted it.
// - After a partial failure the sender retries the whole message; legs whose
//   destination already accepted these exact bytes (DeliveryMemory) are cut
//   before the final ".", so no destination receives the message twice.
//   Only messages with a Message-ID header take part: identical bytes
//   without one may well be two messages (a monitor sending the same alert).
// - Each destination's servers come from the next hop (next_hop.h), best
//   first; a server that gives up the session before accepting the
//   recipient (lost connection, timeout, 421) is left for the next one, and a
//   kept-open connection the server gave up is replaced by a new one
//   (try_again). A later recipient whose destinations use other servers than the
//   recipients already accepted gets 452 4.5.3 and comes again in a new
//   transaction (DESIGN: one DATA answer is always exact per server set).
// - Connections to a destination go back to the process's UpstreamPool when
//   a transaction ends cleanly, for any later transaction to the same server.
// - A destination already accepted in this transaction is not sent again
//   for another recipient (no duplicate delivery).
// - Backpressure: above kHighWater octets waiting for a destination, the
//   session stops reading message lines; below kLowWater it reads on.
// - A transaction aborted once the message has started (refused message,
//   sender gone) closes its legs: the destination never sees the end of the
//   message, so it never delivers a partial or smuggled message.
// - Callbacks from the destination carry the transaction's serial number;
//   an answer for a transaction that is over is ignored.
//
// SECURITY: see server_session.h and upstream.h; nothing of the message is
// logged or stored, the log line holds the envelope only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/delivery_memory.h"
#include "runtime/event_loop.h"
#include "runtime/rcpt_decision.h"
#include "runtime/relay_options.h"
#include "runtime/routing_snapshot.h"
#include "runtime/server_session.h"
#include "runtime/upstream.h"
#include "runtime/upstream_pool.h"

namespace emailroute {

inline constexpr std::size_t kHighWater = 256 * 1024;
inline constexpr std::size_t kLowWater = 64 * 1024;
/// Destination connections one transaction may open; beyond, a recipient
/// gets 452 4.5.3 and the sender sends it again in a new transaction
/// (RFC 5321 §4.5.3.1.10), so one sender cannot fan out without bound.
inline constexpr std::size_t kMaxLegs = 16;

class Inbound;

/// What a connection needs from the relay that owns it.
class RelayCore {
 public:
  virtual ~RelayCore() = default;
  virtual EventLoop& loop() = 0;
  virtual std::shared_ptr<const RoutingSnapshot> routing() const = 0;
  virtual const RelayOptions& options() const = 0;
  virtual std::string next_id() = 0;
  virtual DeliveryMemory& delivered() = 0;
  virtual UpstreamPool& pool() = 0;
  /// The connection is over; the relay frees it after the current event.
  virtual void finished(Inbound& inbound) = 0;
};

class Inbound : public SessionHandler {
 public:
  /// Takes ownership of the connected socket `fd`.
  Inbound(RelayCore& core, int fd, std::string peer, std::string peer_ip);
  ~Inbound() override;
  Inbound(const Inbound&) = delete;
  Inbound& operator=(const Inbound&) = delete;

  /// Registers the socket and greets the sender.
  Status start();
  /// Graceful stop: finish the transaction in flight, then 421.
  void shut_down();
  const std::string& peer_ip() const { return peer_ip_; }

  // SessionHandler
  std::string on_mail(const SmtpCommand& mail) override;
  void on_rcpt(const SmtpCommand& rcpt) override;
  void on_data_start() override;
  void on_data_line(std::string_view line) override;
  void on_data_end(std::uint64_t size) override;
  void on_abort(std::string_view why) override;

 private:
  // One destination of the transaction and the connection that carries it.
  struct Leg {
    std::string destination;
    std::unique_ptr<Upstream> upstream;
    bool accepted = false;  // its RCPT, and the sender's recipient, were accepted
    std::string answer;     // the answer to the message, once known
    std::vector<Endpoint> servers_to_try;  // from the next hop, best first
    std::size_t next_server = 0;           // the one to try when the current one fails
    std::string servers;                   // servers_to_try in a form to compare legs by
  };

  struct Transaction {
    std::uint64_t serial = 0;
    std::shared_ptr<const RoutingSnapshot> routing;  // kept for the whole transaction
    std::string id;
    std::string sender;  // empty for <>
    bool sender_quoted = false;  // a Quoted-string local part: it cannot be rewritten (SRS)
    std::optional<std::uint64_t> declared_size;
    bool body_8bit = false, smtputf8 = false;
    std::optional<std::string> srs_sender;
    std::vector<std::string> recipients;  // accepted from the sender
    std::vector<Leg> legs;
    int refused = 0;
    bool data_started = false;
    std::unique_ptr<MessageDigest> digest;
    bool in_headers = true;
    bool has_message_id = false;  // only a message with one is looked up in DeliveryMemory
    std::int64_t started_ms = 0;
    std::uint64_t size = 0;
    int skipped = 0;  // legs cut because their destination already had the message
    // The RCPT being decided:
    std::string rcpt;
    std::size_t round_first_leg = 0;  // legs from here on were opened for it
    std::size_t pending = 0;
    std::string single_reply;
    std::string worst;  // the most severe refusal among its destinations
    // The end of the message:
    std::size_t answers_pending = 0;
    DeliveryMemory::Key message_digest{};
  };

  void on_io(std::uint32_t events);
  void after_event();
  void flush_sender();
  bool sender_owes_us() const;
  void arm_timer();
  void on_timer();
  void finish();
  void forward(RcptDecision decision);
  void route_destination(std::uint64_t serial, std::size_t leg, Result<std::vector<Endpoint>> servers);
  void open_leg(std::uint64_t serial, std::size_t leg, std::unique_ptr<Upstream> upstream);
  bool try_again(std::uint64_t serial, std::size_t leg, const Reply& failure);
  void refuse_rcpt(std::string_view rcpt, std::string_view reply);
  void destination_answered(std::uint64_t serial, std::size_t leg, std::string reply, bool ok);
  void finish_rcpt();
  void leg_answered(std::uint64_t serial, std::size_t leg, const Reply& reply);
  void finish_message();
  /// A pooled connection to `endpoint`, else a new one.
  std::unique_ptr<Upstream> take_upstream(const Endpoint& endpoint);
  /// A new connection to `endpoint`; its leg deadline counts `already_owed`,
  /// spent on the connections tried before it.
  std::unique_ptr<Upstream> new_upstream(const Endpoint& endpoint, std::int64_t already_owed);
  void release_upstream(std::unique_ptr<Upstream> upstream, bool reset);
  void drop_upstream(std::unique_ptr<Upstream> upstream);
  template <class Fn>
  void for_each_upstream(Fn fn);
  /// Logs the transaction and frees its legs: kept for reuse when the
  /// destination is in a clean state, else closed.
  void end_transaction(std::string_view reply, bool message_done = false);

  RelayCore& core_;
  int fd_;
  EventLoop::Token token_ = 0;
  std::string peer_, peer_ip_;
  std::shared_ptr<const RoutingSnapshot> routing_;  // hostname and limits of this connection
  ServerSession session_;
  std::optional<Transaction> tx_;
  std::uint64_t serial_ = 0;
  std::int64_t last_sender_activity_ = 0;
  EventLoop::TimerId timer_ = 0;
  std::int64_t timer_at_ = 0;
  bool finished_ = false;
  bool finding_ = false;  // inside NextHop::find: an answer now is written by the caller's after_event
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // watched by callbacks that may outlive us
};

template <class Fn>
void Inbound::for_each_upstream(Fn fn) {
  if (tx_) {
    for (Leg& leg : tx_->legs) {
      if (leg.upstream) fn(*leg.upstream);
    }
  }
}

}  // namespace emailroute
