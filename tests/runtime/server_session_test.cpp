// The inbound SMTP state machine, driven with byte strings and a scripted
// handler: sequencing, limits, pipelining, and what reaches the handler.
#include "runtime/server_session.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace emailroute {
namespace {

// Accepts every recipient unless its local part starts with "bad", answering
// at once, or holds the answer back when `defer` is set.
struct FakeHandler : SessionHandler {
  ServerSession* session = nullptr;
  bool defer = false;
  std::vector<std::string> events, lines;
  std::string on_mail(const SmtpCommand& mail) override {
    events.push_back("mail " + mail.mailbox.local);
    return {};
  }
  void on_rcpt(const SmtpCommand& rcpt) override {
    events.push_back("rcpt " + rcpt.mailbox.local);
    if (defer) return;
    bool bad = rcpt.mailbox.local.rfind("bad", 0) == 0;
    session->answer_rcpt(bad ? "550 5.1.1 No such recipient here" : "250 2.1.5 Ok", !bad);
  }
  void on_data_start() override { events.push_back("data"); }
  void on_data_line(std::string_view line) override { lines.emplace_back(line); }
  void on_data_end(std::uint64_t size) override {
    events.push_back("end " + std::to_string(size));
    if (!defer) session->answer_data("250 2.0.0 Ok: forwarded");
  }
  void on_abort(std::string_view why) override { events.push_back("abort " + std::string(why)); }
};

struct Fixture {
  FakeHandler handler;
  ServerSession session;
  explicit Fixture(SessionLimits limits = {"mx.test", 1000, 3}) : session(std::move(limits), handler) {
    handler.session = &session;
    session.start();
    take();
  }
  std::string take() {
    std::string out = session.output();
    session.output().clear();
    return out;
  }
  std::string send(std::string_view bytes) {
    session.feed(bytes);
    return take();
  }
};

TEST_CASE("greets and lists the ESMTP extensions after EHLO") {
  FakeHandler handler;
  ServerSession session(SessionLimits{"mx.test", 1000, 3}, handler);
  session.start();
  CHECK(session.output() == "220 mx.test ESMTP emailroute\r\n");
  session.output().clear();
  session.feed("EHLO client.test\r\n");
  CHECK(session.output() ==
        "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n");
}

TEST_CASE("answers out-of-order commands with 503 5.5.1") {
  Fixture f;
  CHECK(f.send("MAIL FROM:<a@b.test>\r\n") == "503 5.5.1 Error: send HELO/EHLO first\r\n");
  f.send("HELO c.test\r\n");
  CHECK(f.send("RCPT TO:<x@y.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n");
  CHECK(f.send("DATA\r\n") == "503 5.5.1 Error: need RCPT command\r\n");
  f.send("MAIL FROM:<a@b.test>\r\n");
  CHECK(f.send("MAIL FROM:<a@b.test>\r\n") == "503 5.5.1 Error: nested MAIL command\r\n");
  CHECK(f.send("DATA\r\n") == "554 5.5.1 Error: no valid recipients\r\n");
}

TEST_CASE("answers NOOP, VRFY, HELP, RSET and QUIT") {
  Fixture f;
  CHECK(f.send("NOOP\r\n") == "250 2.0.0 Ok\r\n");
  CHECK(f.send("VRFY someone\r\n").rfind("252 2.5.2", 0) == 0);
  CHECK(f.send("HELP\r\n").rfind("214 ", 0) == 0);
  CHECK(f.send("STARTTLS\r\n").rfind("502 5.5.1", 0) == 0);
  f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  CHECK(f.send("RSET\r\n") == "250 2.0.0 Ok\r\n");
  CHECK(f.handler.events.back() == "abort RSET");
  CHECK(f.send("QUIT\r\n") == "221 2.0.0 Bye\r\n");
  CHECK(f.session.closed());
}

TEST_CASE("relays a whole pipelined transaction and hands the lines over unstuffed") {
  Fixture f;
  std::string out = f.send(
      "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<bad@y.test>\r\nDATA\r\n");
  CHECK(out.find("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such recipient here\r\n354 ") != std::string::npos);
  CHECK(f.send("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n") == "250 2.0.0 Ok: forwarded\r\n");
  CHECK(f.handler.lines == std::vector<std::string>{"Subject: hi", "", ".dot", "body"});
  CHECK(f.handler.events.back() == "end 27");
  CHECK(f.session.state() == ServerSession::State::kReady);
}

TEST_CASE("keeps pipelined commands waiting while a RCPT is being decided") {
  Fixture f;
  f.handler.defer = true;
  CHECK(f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nNOOP\r\n").find("250 2.0.0 Ok") ==
        std::string::npos);
  CHECK(f.session.state() == ServerSession::State::kRcptPending);
  f.session.answer_rcpt("250 2.1.5 Ok", true);
  CHECK(f.take() == "250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
}

TEST_CASE("refuses content sent before the 354 with 554 5.5.0 and closes") {
  Fixture f;
  f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\n");
  CHECK(f.send("DATA\r\nSubject: early\r\n").rfind("554 5.5.0", 0) == 0);
  CHECK(f.session.closed());
  CHECK(f.handler.events.back() == "abort closed by relay");
}

TEST_CASE("answers 452 4.5.3 past max_recipients") {
  Fixture f;
  f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  f.send("RCPT TO:<a@y.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n");
  CHECK(f.send("RCPT TO:<d@y.test>\r\n") == "452 4.5.3 Error: too many recipients\r\n");
}

TEST_CASE("refuses a declared SIZE over the limit and an actual size over it") {
  Fixture f;
  f.send("EHLO c.test\r\n");
  CHECK(f.send("MAIL FROM:<a@b.test> SIZE=1001\r\n").rfind("552 5.3.4", 0) == 0);
  f.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
  std::string big(600, 'x');
  CHECK(f.send(big + "\r\n" + big + "\r\n").empty());
  CHECK(f.handler.events.back().rfind("abort 552", 0) == 0);
  CHECK(f.send(".\r\n").rfind("552 5.3.4", 0) == 0);
  CHECK(f.handler.lines.size() == 1);
  CHECK(f.session.state() == ServerSession::State::kReady);
}

TEST_CASE("refuses a message with more than 30 Received headers as a loop") {
  Fixture f(SessionLimits{"mx.test", 100000, 3});
  f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
  std::string headers;
  for (int i = 0; i < 31; ++i) headers += "Received: from hop" + std::to_string(i) + "\r\n";
  CHECK(f.send(headers + "\r\nbody\r\n.\r\n").rfind("554 5.4.6", 0) == 0);
}

TEST_CASE("refuses smuggling sequences after the real terminator and stays in step") {
  using namespace std::string_literals;
  for (std::string seq : {"\n.\n"s, "\n.\r\n"s, "\r.\r"s, "\r\n.\r"s, "\r\n\x00.\r\n"s, "\r\n.\n"s, "\n.\r"s}) {
    CAPTURE(seq);
    Fixture f;
    f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
    std::string out = f.send("line" + seq + "MAIL FROM:<evil@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\nevil\r\n.\r\n");
    CHECK(out.rfind("550 5.5.2", 0) == 0);
    CHECK(f.handler.events.back().rfind("abort", 0) == 0);
    for (const std::string& e : f.handler.events) CHECK(e.rfind("end", 0) != 0);
    CHECK(f.session.state() == ServerSession::State::kReady);
  }
}

TEST_CASE("answers 421 after too many errors") {
  Fixture f;
  std::string out;
  for (int i = 0; i < kMaxErrors; ++i) out += f.send("BOGUS\r\n");
  CHECK(out.find("421 4.7.0") != std::string::npos);
  CHECK(f.session.closed());
}

TEST_CASE("skips an over-long command line and answers 500 5.5.6 once it ends") {
  Fixture f;
  CHECK(f.send(std::string(3000, 'A')).empty());
  CHECK(f.send("AAAA\r\nNOOP\r\n") == "500 5.5.6 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

TEST_CASE("stops reading message lines while blocked and reads on when unblocked") {
  Fixture f;
  f.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
  f.session.set_blocked(true);
  CHECK(!f.session.wants_input());
  f.send("one\r\ntwo\r\n.\r\n");
  CHECK(f.handler.lines.empty());
  f.session.set_blocked(false);
  CHECK(f.handler.lines == std::vector<std::string>{"one", "two"});
  CHECK(f.take() == "250 2.0.0 Ok: forwarded\r\n");
}

TEST_CASE("shuts down idle sessions at once and busy ones after their message") {
  Fixture idle;
  idle.session.shut_down();
  CHECK(idle.take().rfind("421 4.3.2", 0) == 0);
  Fixture busy;
  busy.handler.defer = true;
  busy.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\n");
  busy.session.answer_rcpt("250 2.1.5 Ok", true);
  busy.send("DATA\r\n");
  busy.session.shut_down();
  CHECK(!busy.session.closed());
  busy.send("body\r\n.\r\n");
  busy.session.answer_data("250 2.0.0 Ok");
  CHECK(busy.take() == "250 2.0.0 Ok\r\n421 4.3.2 mx.test Service shutting down\r\n");
  CHECK(busy.session.closed());
}

}  // namespace
}  // namespace emailroute
