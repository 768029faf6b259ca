// The destination-side SMTP state machine, driven with byte strings: the
// command order, the message framing, and every way a destination fails.
#include "runtime/client_session.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace emailroute {
namespace {

struct Fixture {
  ClientSession c{"mx.test"};
  std::vector<std::string> replies;  // "MAIL 250", "RCPT 550", "END 0 why" ...
  ClientSession::ReplyFn record(std::string what) {
    return [this, what](const Reply& r) {
      replies.push_back(what + " " + std::to_string(r.code) + (r.code == 0 ? " " + r.text() : ""));
    };
  }
  std::string take() {
    std::string out = c.output();
    c.output().clear();
    return out;
  }
  // Connects and completes the greeting and EHLO.
  void ready(std::string_view ehlo = "250-dest.test\r\n250-SIZE 1000\r\n250 8BITMIME\r\n") {
    c.connected();
    c.feed("220 dest.test ESMTP\r\n");
    CHECK(take() == "EHLO mx.test\r\n");
    c.feed(ehlo);
  }
};

TEST_CASE("sends MAIL and RCPT one at a time after EHLO, with SIZE and BODY when offered") {
  Fixture f;
  f.c.mail({"SRS0=abcd=2W=a.test=b@mx.test", 123, true, true}, f.record("MAIL"));
  f.c.rcpt("alice@dest.test", f.record("RCPT"));
  f.ready();
  CHECK(f.take() == "MAIL FROM:<SRS0=abcd=2W=a.test=b@mx.test> SIZE=123 BODY=8BITMIME\r\n");
  f.c.feed("250 2.1.0 Ok\r\n");
  CHECK(f.take() == "RCPT TO:<alice@dest.test>\r\n");
  f.c.feed("250 2.1.5 Ok\r\n");
  CHECK(f.replies == std::vector<std::string>{"MAIL 250", "RCPT 250"});
  CHECK(f.c.idle());
}

TEST_CASE("sends MAIL and RCPT in one write when the destination offers PIPELINING") {
  Fixture f;
  f.ready("250-dest.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  f.c.mail({"a@mx.test", 10, false, false}, f.record("MAIL"));
  f.c.rcpt("alice@dest.test", f.record("RCPT"));
  CHECK(f.take() == "MAIL FROM:<a@mx.test> SIZE=10\r\nRCPT TO:<alice@dest.test>\r\n");
  f.c.feed("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  CHECK(f.replies == std::vector<std::string>{"MAIL 250", "RCPT 250"});
  f.c.data();
  CHECK(f.take() == "DATA\r\n");
  f.c.rcpt("late@dest.test", f.record("RCPT"));
  CHECK(f.take().empty());  // nothing follows DATA in its group
}

TEST_CASE("answers a pipelined RCPT behind a refused MAIL with the MAIL's refusal") {
  Fixture f;
  f.ready("250-dest.test\r\n250 PIPELINING\r\n");
  f.c.mail({"a@mx.test", {}, false, false}, f.record("MAIL"));
  f.c.rcpt("alice@dest.test", f.record("RCPT"));
  f.take();
  f.c.feed("550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n");
  CHECK(f.replies == std::vector<std::string>{"MAIL 550", "RCPT 550"});
  CHECK(f.c.idle());
}

TEST_CASE("counts only the time the destination owes us towards the leg's deadline") {
  Fixture f;
  f.c.note_time(0);  // connecting: the destination owes its greeting
  f.c.connected();
  f.c.feed("220 dest.test ESMTP\r\n");
  f.c.note_time(40);
  f.c.feed("250 dest.test\r\n");
  f.c.note_time(90);
  CHECK(f.c.owed_ms(90) == 90);
  f.c.note_time(500);  // ready, nothing asked: the sender's time, not the destination's
  CHECK(f.c.owed_ms(500) == 90);
  f.c.rcpt("alice@dest.test", f.record("RCPT"));
  f.c.note_time(1000);
  CHECK(f.c.owed_ms(1070) == 160);  // still waiting: the count runs on
  f.c.feed("250 2.1.5 Ok\r\n");
  f.c.note_time(1100);
  f.c.data();
  f.take();
  f.c.note_time(2000);
  f.c.feed("354 go\r\n");
  f.c.note_time(2050);
  f.c.send_line("body");  // output waiting for room in the socket
  f.c.note_time(3000);
  f.take();
  f.c.note_time(3010);
  CHECK(f.c.owed_ms(5000) == 90 + 100 + 50 + 10);
  f.c.restart_owed_clock();
  CHECK(f.c.owed_ms(6000) == 0);
}

TEST_CASE("falls back to HELO when EHLO is refused") {
  Fixture f;
  f.c.connected();
  f.c.feed("220 old.test\r\n");
  f.take();
  f.c.feed("502 5.5.1 no\r\n");
  CHECK(f.take() == "HELO mx.test\r\n");
  f.c.mail({"", {}, true, false}, f.record("MAIL"));
  f.c.feed("250 old.test\r\n");
  CHECK(f.take() == "MAIL FROM:<>\r\n");
}

TEST_CASE("holds message lines until the 354 and frames them with dots doubled") {
  Fixture f;
  f.ready();
  f.c.data();
  CHECK(f.take() == "DATA\r\n");
  f.c.send_line("Subject: x");
  f.c.send_line(".leading dot");
  f.c.end_data(f.record("END"));
  CHECK(f.c.output().empty());
  CHECK(f.c.pending_output() > 0);
  f.c.feed("354 go ahead\r\n");
  CHECK(f.take() == "Subject: x\r\n..leading dot\r\n.\r\n");
  f.c.feed("250 2.0.0 queued\r\n");
  CHECK(f.replies == std::vector<std::string>{"END 250"});
}

TEST_CASE("gives a refusal of DATA to end_data and drops the lines") {
  Fixture f;
  f.ready();
  f.c.data();
  f.take();
  f.c.feed("554 5.5.1 no valid recipients\r\n");
  f.c.send_line("body");
  f.c.end_data(f.record("END"));
  CHECK(f.take().empty());
  CHECK(f.replies == std::vector<std::string>{"END 554"});
}

TEST_CASE("gives the recipients queued behind a refused MAIL its refusal") {
  Fixture f;
  f.ready();
  f.c.mail({"a@b.test", {}, false, false}, f.record("MAIL"));
  f.c.rcpt("x@dest.test", f.record("RCPT"));
  f.take();
  f.c.feed("550 5.7.1 sender refused\r\n");
  CHECK(f.replies == std::vector<std::string>{"MAIL 550", "RCPT 550"});
  CHECK(f.take().empty());
}

TEST_CASE("fails every outstanding request when the connection breaks") {
  Fixture f;
  f.ready();
  f.c.mail({"a@b.test", {}, false, false}, f.record("MAIL"));
  f.c.rcpt("x@dest.test", f.record("RCPT"));
  f.c.fail("destination closed the connection");
  CHECK(f.replies == std::vector<std::string>{"MAIL 0 destination closed the connection",
                                              "RCPT 0 destination closed the connection"});
  CHECK(!f.c.usable());
  f.c.end_data(f.record("END"));
  CHECK(f.replies.back().rfind("END 0", 0) == 0);
}

TEST_CASE("takes a 421 at any step as the server closing: every request gets it, the session is dead") {
  Fixture f;  // MAIL and RCPT pipelined, the server closes at MAIL
  f.ready("250-dest.test\r\n250 PIPELINING\r\n");
  f.c.mail({"a@b.test", {}, false, false}, f.record("MAIL"));
  f.c.rcpt("x@dest.test", f.record("RCPT"));
  f.take();
  f.c.feed("421 4.3.2 shutting down\r\n503 5.5.1 need MAIL\r\n");
  CHECK(f.replies == std::vector<std::string>{"MAIL 421", "RCPT 421"});
  CHECK(!f.c.usable());
  CHECK(f.take().empty());  // no QUIT or RSET to a server that is going away

  Fixture g;  // at RCPT, after MAIL was accepted, with the message queued behind it
  g.ready();
  g.c.mail({"a@b.test", {}, false, false}, g.record("MAIL"));
  g.c.rcpt("x@dest.test", g.record("RCPT"));
  g.c.data();
  g.c.send_line("Subject: x");
  g.c.end_data(g.record("END"));
  g.c.feed("250 ok\r\n");
  g.c.feed("421 too many messages\r\n");
  CHECK(g.replies == std::vector<std::string>{"MAIL 250", "RCPT 421", "END 421"});
  CHECK(!g.c.usable());
  g.take();

  Fixture h;  // an idle kept-open connection told it is being closed
  h.ready();
  h.c.feed("421 4.4.2 idle timeout\r\n");
  CHECK(!h.c.usable());
}

TEST_CASE("fails on a greeting that is not 220 and on a malformed reply") {
  Fixture f;
  f.c.rcpt("x@dest.test", f.record("RCPT"));
  f.c.connected();
  f.c.feed("554 go away\r\n");
  CHECK(f.replies.size() == 1);
  CHECK(f.replies[0].rfind("RCPT 0 destination greeting: 554", 0) == 0);
  Fixture g;
  g.ready();
  g.c.rcpt("x@dest.test", g.record("RCPT"));
  g.c.feed("hello\r\n");
  CHECK(g.replies == std::vector<std::string>{"RCPT 0 destination sent a malformed reply"});
}

TEST_CASE("parses multi-line replies, split anywhere, and refuses mixed codes") {
  std::string text = "250-first\r\n250-second\r\n250 last\r\nextra";
  for (std::size_t cut = 0; cut < text.size() - 5; ++cut) {
    ReplyParse p = parse_reply(std::string_view(text).substr(0, cut));
    CHECK(p.kind == ReplyParse::Kind::kNeedMore);
  }
  ReplyParse p = parse_reply(text);
  REQUIRE(p.kind == ReplyParse::Kind::kReply);
  CHECK(p.consumed == text.size() - 5);
  CHECK(p.reply.code == 250);
  CHECK(p.reply.text() == "first second last");
  CHECK(parse_reply("250-a\r\n251 b\r\n").kind == ReplyParse::Kind::kError);
  CHECK(parse_reply(std::string(kMaxReplyBytes + 1, 'x')).kind == ReplyParse::Kind::kError);
}

TEST_CASE("maps destination answers to what the sender hears") {
  Reply spam{550, {"5.7.1 Spam\x01\x1b[31m detected"}};
  CHECK(relay_data_reply(spam, "ID") == "550 5.7.1 Spam[31m detected");
  CHECK(relay_data_reply(Reply{552, {"too big"}}, "ID") == "550 5.0.0 Destination refused the message: too big");
  CHECK(relay_data_reply(Reply{554, {"5.6.0 bad"}}, "ID") == "554 5.6.0 bad");
  CHECK(relay_data_reply(Reply{452, {"4.3.1 full"}}, "ID").rfind("451 4.4.0 ", 0) == 0);
  CHECK(relay_data_reply(no_reply("timed out"), "ID") == "451 4.4.2 Destination connection failed: timed out");
  CHECK(relay_data_reply(Reply{250, {"ok"}}, "ID") == "250 2.0.0 Ok: forwarded as ID");
  CHECK(relay_rcpt_reply(Reply{550, {"5.1.1 no such user"}}) == "550 5.1.1 no such user");
  CHECK(relay_rcpt_reply(Reply{450, {"try later"}}) == "450 4.0.0 try later");
  CHECK(relay_rcpt_reply(Reply{550, {"2.1.5 confused"}}) == "550 5.0.0 confused");
  CHECK(relay_rcpt_reply(no_reply("refused")).rfind("451 4.4.1", 0) == 0);
  // A 421 closes the destination's connection, never the sender's.
  CHECK(relay_rcpt_reply(Reply{421, {"4.3.2 shutting down"}}) == "451 4.3.2 shutting down");
  CHECK(relay_rcpt_reply(Reply{421, {"busy"}}) == "451 4.0.0 busy");
}

}  // namespace
}  // namespace emailroute
