// libFuzzer target for the destination side (runtime/client_session and
// runtime/smtp_reply): a destination server, which anyone who controls a
// domain's MX can run, answers with any bytes, in chunks whose sizes the
// input chooses, while the relay sends MAIL, RCPT, a message and its end.
// Checks what the relay relies on: every request is answered at most once,
// and what the sender would hear (relay_rcpt_reply, relay_data_reply) is one
// printable ASCII reply line with a code the sender can act on. Built and run
// by fuzz/run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/client_session.h"
#include "runtime/smtp_reply.h"

namespace {

using emailroute::ClientSession;
using emailroute::Reply;

void require(bool ok) {
  if (!ok) std::abort();
}

// A reply line for the sender: "NNN text", printable ASCII, a 2xx-5xx code.
void check_for_sender(const std::string& line) {
  require(line.size() >= 4 && line[0] >= '2' && line[0] <= '5' && line[3] == ' ');
  for (char c : line) require(c >= 0x20 && c < 0x7F);
}

struct Answers {
  int mail = 0, rcpt = 0, end = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t chunk = 1 + data[0] % 64;  // the relay's reads: 1 to 64 octets
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Answers answers;
  ClientSession c("mx.fuzz.test");
  c.mail({"SRS0=abcd=2W=sender.test=bob@relay.test", 100, true, false}, [&](const Reply& r) {
    ++answers.mail;
    require(r.code == 0 || (r.code >= 200 && r.code <= 599));
  });
  c.rcpt("alice@dest.test", [&](const Reply& r) {
    ++answers.rcpt;
    check_for_sender(emailroute::relay_rcpt_reply(r));
  });
  c.data();
  c.send_line("Received: from client (client [192.0.2.1])");
  c.send_line(".a line that starts with a dot");
  c.end_data([&](const Reply& r) {
    ++answers.end;
    check_for_sender(emailroute::relay_data_reply(r, "ID"));
  });
  c.connected();
  while (!input.empty()) {
    std::string_view piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    c.feed(piece);
    c.output().clear();  // as if written
  }
  c.fail("destination closed the connection");
  require(answers.mail == 1 && answers.rcpt == 1 && answers.end == 1);
  return 0;
}
