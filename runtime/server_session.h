// The inbound side of SMTP: one sender's session as a state machine. The
// relay feeds it the bytes the sender sent and writes out what it answers; the
// routing decisions (RCPT) and the final answer to a message come from a
// SessionHandler, now or later, so the session never blocks and never makes a
// syscall. Unit tests drive it with byte strings.
//
// Choices:
// - Commands are taken one at a time: while a RCPT or the end of a message
//   waits for its answer, later pipelined commands stay in the input buffer,
//   so replies always come out in order (RFC 2920).
// - Bytes already received when DATA is accepted were sent before our 354:
//   a synchronisation error (554 5.5.0), answered by closing the session,
//   because they could only be message content or a smuggling attempt.
// - Every 4xx/5xx the sender's commands earn counts as an error; at
//   kMaxErrors the session says 421 and closes (Postfix's
//   smtpd_hard_error_limit). The answer to a message does not count (it is
//   the destination's verdict), and a delivered message resets the count.
// - The message is checked while it streams: its size (552 5.3.4 once it
//   exceeds the limit) and the Received: headers in its header (more than 30:
//   554 5.4.6, a loop). A refused message is read on to its real terminator
//   before the answer, so the session stays in step with the sender.
//
// SECURITY: every byte comes from an unauthenticated network peer. Input is
// parsed only by smtp_parser and DataReader, which bound what they keep; the
// session stops asking for input when kMaxBuffered octets wait unprocessed.
// Nothing from the sender is echoed back except through the parser's own
// reasons, which hold only printable ASCII (fuzz/server_session_fuzz checks
// every reply line).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/data_stream.h"
#include "runtime/smtp_parser.h"

namespace emailroute {

inline constexpr int kMaxErrors = 20;
inline constexpr int kMaxReceivedHeaders = 30;
inline constexpr std::size_t kMaxBuffered = 64 * 1024;

/// The relay's side of a session: routing decisions and the message itself.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  /// A syntactically valid MAIL; returns the refusal reply, or empty to accept.
  virtual std::string on_mail(const SmtpCommand& mail) = 0;
  /// Decides one recipient and answers with ServerSession::answer_rcpt, now or later.
  virtual void on_rcpt(const SmtpCommand& rcpt) = 0;
  /// The 354 went out; message lines follow.
  virtual void on_data_start() = 0;
  /// One message line, unstuffed, without CRLF; valid only during the call.
  virtual void on_data_line(std::string_view line) = 0;
  /// The message ended cleanly; answer with ServerSession::answer_data, now or later.
  virtual void on_data_end(std::uint64_t size) = 0;
  /// The transaction ends without delivery (RSET, refused message, QUIT, ...).
  virtual void on_abort(std::string_view why) = 0;
};

struct SessionLimits {
  std::string hostname;
  std::uint64_t max_message_size = 25 * 1024 * 1024;
  std::uint32_t max_recipients = 100;
};

class ServerSession {
 public:
  enum class State { kNeedHelo, kReady, kMailGiven, kRcptPending, kRcptGiven, kData, kDataPending, kClosed };

  ServerSession(SessionLimits limits, SessionHandler& handler) : limits_(std::move(limits)), handler_(handler) {}

  /// Sends the 220 greeting.
  void start();
  /// Takes bytes from the sender and processes as much as it can.
  void feed(std::string_view bytes);
  /// The sender hung up: the transaction, if any, is aborted.
  void disconnected();
  /// The sender was silent too long: 421 and close.
  void timed_out();
  /// Graceful stop: idle sessions get 421 now, busy ones after their transaction.
  void shut_down();

  /// REQUIRES: state() == kRcptPending. `reply` is one line without CRLF.
  void answer_rcpt(std::string_view reply, bool accepted);
  /// REQUIRES: state() == kDataPending.
  void answer_data(std::string_view reply);

  /// Backpressure: while blocked, message lines are not read on.
  void set_blocked(bool blocked);

  /// What to send to the sender; the relay drops what it wrote.
  std::string& output() { return out_; }
  /// Whether to read more from the socket now.
  bool wants_input() const { return state_ != State::kClosed && !blocked_ && in_.size() - pos_ < kMaxBuffered; }
  bool closed() const { return state_ == State::kClosed; }
  bool blocked() const { return blocked_; }
  State state() const { return state_; }
  bool in_transaction() const;
  std::string_view helo() const { return helo_; }
  bool esmtp() const { return esmtp_; }
  bool trace = false;  // log every state change to stderr

 private:
  void enter(State next);
  void process();
  bool step_command();
  bool step_data();
  void dispatch(const SmtpCommand& c);
  void command_error(const ParseResult& r);
  void on_message_line(std::string_view line);
  void finish_message();
  void refuse_message(std::string_view reply);
  void greet(const SmtpCommand& c);
  void mail(const SmtpCommand& c);
  void rcpt(const SmtpCommand& c);
  void data();
  void abort_transaction(std::string_view why);
  void reply(std::string_view line);
  void close_with(std::string_view line);

  SessionLimits limits_;
  SessionHandler& handler_;
  State state_ = State::kNeedHelo;
  std::string in_, out_;
  std::size_t pos_ = 0;  // in_ before pos_ is processed
  std::string helo_;
  bool esmtp_ = false;
  bool skipping_ = false;  // dropping the rest of an over-long command line
  bool blocked_ = false;
  bool in_process_ = false;
  bool draining_ = false;
  int errors_ = 0;
  std::uint32_t recipients_ = 0;
  DataReader reader_;
  bool in_headers_ = true;
  int received_headers_ = 0;
  std::string refusal_;  // the answer to a message refused while it streams
};

std::string_view to_string(ServerSession::State state);

}  // namespace emailroute
