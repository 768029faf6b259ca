// The destination side of SMTP: the relay's client session towards one
// destination server, as a state machine. The relay queues requests (MAIL,
// RCPT, the message, RSET, QUIT), feeds in what the server sends and writes
// out what the session produces; each request's reply comes back through its
// callback. No syscalls: unit tests drive it with byte strings.
//
// Choices:
// - When the server offers PIPELINING (RFC 2920), RSET, MAIL and RCPT
//   queued together go out in one write (a group ends at anything else:
//   DATA and QUIT wait for the replies before them); replies are matched to
//   requests in order. Without PIPELINING, one command at a time.
// - A refused MAIL is the answer to the RCPTs behind it, sent or not: the
//   server's own answer to a pipelined RCPT ("need MAIL") is not the reason.
// - EHLO, and HELO when EHLO is refused; MAIL carries BODY=8BITMIME and
//   SMTPUTF8 only when asked and the server offers them, SIZE when it offers it.
// - Message lines given before the server's 354 wait in a buffer; the relay
//   watches pending_output() to stop reading from its sender (backpressure).
// - Any failure (malformed reply, lost connection, timeout, unexpected
//   code at greeting) fails every outstanding request with a Reply of code 0,
//   and the session is dead.
// - A 421 to any command means the server is closing the connection (RFC 5321
//   §3.8): it is the answer to every outstanding request, and the session is
//   dead too, so it never goes back to the pool.
//
// SECURITY: the server is not trusted: replies are parsed by parse_reply
// (bounded), and nothing they hold is written back to the server.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/smtp_reply.h"

namespace emailroute {

class ClientSession {
 public:
  using ReplyFn = std::function<void(const Reply&)>;
  enum class State { kConnecting, kGreeting, kEhlo, kHelo, kReady, kWaiting, kStreaming, kClosed, kFailed };

  struct MailRequest {
    std::string sender;  // the envelope sender to announce (SRS form), empty for <>
    std::optional<std::uint64_t> size;
    bool body_8bit = false;
    bool smtputf8 = false;
  };

  explicit ClientSession(std::string helo_name) : helo_name_(std::move(helo_name)) {}

  /// The TCP connection is up: wait for the greeting.
  void connected();
  /// Bytes from the server.
  void feed(std::string_view bytes);
  /// The connection broke or a deadline passed: every request fails with `why`.
  void fail(std::string_view why);

  void mail(MailRequest request, ReplyFn done);
  void rcpt(std::string recipient, ReplyFn done);
  /// Starts the message; lines follow with send_line, then end_data.
  void data();
  /// REQUIRES: after data(). `line` is unstuffed and holds no CR or LF.
  void send_line(std::string_view line);
  /// Ends the message; `done` receives the server's final answer, or its
  /// refusal of DATA, or the failure.
  void end_data(ReplyFn done);
  /// Ends the transaction without a message (the server forgets it).
  void rset();
  void quit();

  /// What to write to the server; the relay drops what it wrote.
  std::string& output() { return out_; }
  /// Octets waiting to go out, including lines held back until the 354.
  std::size_t pending_output() const { return out_.size() + held_.size(); }
  State state() const { return state_; }
  /// True when a new transaction can be queued (EHLO done or pending, no failure).
  bool usable() const { return state_ != State::kClosed && state_ != State::kFailed; }
  /// True when the session waits for the server's reply.
  bool awaiting_reply() const;
  /// True when the server owes us something: a reply, or room for what we
  /// send (the per-wait timeout and the leg's deadline run).
  bool owes_us() const { return awaiting_reply() || (state_ == State::kStreaming && !out_.empty()); }

  // The destination leg's deadline: the time the server spends owing us
  // something adds up over a transaction, so a server that answers each
  // command just inside the per-wait timeout still cannot hold the sender
  // beyond the sum. The relay reports its clock after every event.
  /// Starts the count afresh (a new transaction takes the connection), from
  /// `already_owed`: what the servers tried before for the same leg took.
  void restart_owed_clock(std::int64_t already_owed = 0) { owed_ms_ = already_owed, owed_since_ = -1; }
  /// REQUIRES: `now_ms` never goes back. Call after every change of owes_us().
  void note_time(std::int64_t now_ms);
  /// Milliseconds owed so far in this transaction, up to `now_ms`.
  std::int64_t owed_ms(std::int64_t now_ms) const {
    return owed_ms_ + (owed_since_ >= 0 && now_ms > owed_since_ ? now_ms - owed_since_ : 0);
  }
  bool idle() const { return state_ == State::kReady && queue_.empty(); }
  bool trace = false;  // log every state change to stderr

 private:
  /// Every outstanding request gets `failure`; the session is dead.
  void fail_with(const Reply& failure);
  enum class Kind { kMail, kRcpt, kData, kEndOfData, kRset, kQuit };
  struct Request {
    Kind kind;
    std::string argument;  // RCPT: the recipient
    ReplyFn done;
    std::optional<Reply> answer;  // given instead of the server's (a RCPT behind a refused MAIL)
  };

  void enter(State next);
  void handle(const Reply& r);
  void handle_greeting_phase(const Reply& r);
  void pump();
  void send(const Request& request);
  void send(std::string_view command);
  void append_mail_command();

  std::string helo_name_;
  State state_ = State::kConnecting;
  std::string in_, out_, held_;
  std::deque<Request> queue_;  // not sent yet
  std::deque<Request> sent_;   // sent, waiting for their replies in order
  MailRequest mail_;
  std::optional<Reply> data_refusal_;  // DATA was refused: the lines are dropped
  ReplyFn end_done_;
  bool end_requested_ = false;
  bool has_size_ = false, has_8bit_ = false, has_smtputf8_ = false, has_pipelining_ = false;
  std::int64_t owed_ms_ = 0;
  std::int64_t owed_since_ = -1;  // when the current debt began; -1: nothing owed
};

std::string_view to_string(ClientSession::State state);

}  // namespace emailroute
