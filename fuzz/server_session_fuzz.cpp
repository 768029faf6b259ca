// libFuzzer target for the inbound SMTP session (runtime/server_session with
// smtp_parser and DataReader): any bytes from a sender, fed in chunks whose
// sizes the input chooses, with a handler that accepts or refuses, now or
// one chunk later, as the input's first bytes say. Checks what the relay
// relies on: every reply is one well-formed line, message lines reach the
// handler without CR or LF, and the handler is called only in the states
// its contract allows. Built and run by fuzz/run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/server_session.h"

namespace {

using emailroute::ServerSession;
using emailroute::SmtpCommand;
using State = ServerSession::State;

void require(bool ok) {
  if (!ok) std::abort();
}

// Every reply line: three digits, ' ' or '-', printable ASCII, CRLF.
void check_output(std::string_view out) {
  while (!out.empty()) {
    std::size_t end = out.find("\r\n");
    require(end != std::string_view::npos);
    std::string_view line = out.substr(0, end);
    require(line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
            line[2] >= '0' && line[2] <= '9');
    require(line.size() == 3 || line[3] == ' ' || line[3] == '-');
    for (char c : line) require(c >= 0x20 && c < 0x7F);
    out.remove_prefix(end + 2);
  }
}

class Handler : public emailroute::SessionHandler {
 public:
  explicit Handler(std::uint8_t choices) : choices_(choices) {}
  ServerSession* session = nullptr;
  bool rcpt_owed = false, data_owed = false;

  std::string on_mail(const SmtpCommand&) override {
    require(!in_message_);
    return choice(0) ? "" : "550 5.7.1 Sender refused";
  }
  void on_rcpt(const SmtpCommand&) override {
    require(session->state() == State::kRcptPending && !in_message_);
    if (choice(1)) {
      rcpt_owed = true;  // answered one chunk later
    } else {
      session->answer_rcpt(choice(2) ? "250 2.1.5 Ok" : "550 5.1.1 No such user", choice(2));
    }
  }
  void on_data_start() override {
    require(!in_message_);
    in_message_ = true;
  }
  void on_data_line(std::string_view line) override {
    require(in_message_);
    require(line.find_first_of("\r\n") == std::string_view::npos);
    if (choice(3) && line.size() % 7 == 0) session->set_blocked(true);  // backpressure, lifted next chunk
  }
  void on_data_end(std::uint64_t) override {
    require(in_message_ && session->state() == State::kDataPending);
    in_message_ = false;
    if (choice(4)) {
      data_owed = true;
    } else {
      session->answer_data(choice(5) ? "250 2.0.0 Ok" : "451 4.4.0 Destination deferred the message");
    }
  }
  void on_abort(std::string_view) override { in_message_ = false; }

  // What a relay does between reads: late answers, backpressure lifted.
  void between_chunks() {
    if (rcpt_owed && session->state() == State::kRcptPending) session->answer_rcpt("250 2.1.5 Ok", true);
    rcpt_owed = false;
    if (data_owed && session->state() == State::kDataPending) session->answer_data("250 2.0.0 Ok");
    data_owed = false;
    if (session->blocked()) session->set_blocked(false);
  }

 private:
  bool choice(int bit) const { return (choices_ >> bit) & 1; }
  std::uint8_t choices_;
  bool in_message_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Handler handler(data[0]);
  std::size_t chunk = 1 + data[1] % 64;  // the sender's reads: 1 to 64 octets
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  ServerSession session(emailroute::SessionLimits{"mx.fuzz.test", 4096, 5}, handler);
  handler.session = &session;
  session.start();
  while (!input.empty() && !session.closed()) {
    std::string_view piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    // A relay does not read while the session wants no input (backpressure,
    // a full buffer): that piece is as if the sender had never sent it.
    if (session.wants_input()) session.feed(piece);
    handler.between_chunks();
    check_output(session.output());
    session.output().clear();
  }
  session.disconnected();
  check_output(session.output());
  return 0;
}
