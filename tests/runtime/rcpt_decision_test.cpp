// Routing one RCPT: every answer the relay gives before any destination is
// asked, including the open-relay attempts and SRS bounces.
#include "runtime/rcpt_decision.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "compiler/compile.h"

namespace emailroute {
namespace {

constexpr std::int64_t kNow = 1577836860;  // the SRS test vector's time

std::shared_ptr<const RoutingSnapshot> snapshot(const std::string& extra_relay = "") {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "emailroute-rcpt-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "srs.key") << "tops3cr3t\n";
  std::string source =
      "[relay]\nhostname = \"mx.example.net\"\nsrs_domain = \"example.net\"\nsrs_secret_file = \"srs.key\"\n"
      "deliver_via = \"127.0.0.1:2525\"\n" +
      extra_relay +
      "[domains.\"example.com\"]\n"
      "[domains.\"example.com\".addresses]\n"
      "sales = \"alice@gmail.test\"\n"
      "support = [\"alice@gmail.test\", \"bob@outlook.test\"]\n"
      "noreply = { action = \"drop\" }\n"
      "\"old-*\" = { action = \"reject\", message = \"This address is retired\" }\n"
      "postmaster = \"admin@gmail.test\"\n";
  CompileOutcome out = compile_source(source, "test.toml", dir.string());
  REQUIRE_MESSAGE(out.ok(), out.render_errors());
  Result<Table> table = Table::from_bytes(std::vector<std::uint8_t>(out.table.begin(), out.table.end()));
  REQUIRE(table.ok());
  Result<std::shared_ptr<const RoutingSnapshot>> s = make_snapshot(std::move(*table));
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  return *s;
}

RcptDecision decide(const RoutingSnapshot& s, const std::string& line) {
  ParseResult p = parse_command(line + "\r\n");
  REQUIRE(p.kind == ParseResult::Kind::kCommand);
  return decide_rcpt(s, p.command, kNow);
}

TEST_CASE("forwards, fans out, drops and rejects by the table, case-insensitively") {
  auto s = snapshot();
  RcptDecision d = decide(*s, "RCPT TO:<Sales+News@EXAMPLE.com>");
  CHECK(d.kind == RcptDecision::Kind::kForward);
  CHECK(d.destinations == std::vector<std::string>{"alice@gmail.test"});
  CHECK(decide(*s, "RCPT TO:<support@example.com>").destinations.size() == 2);
  CHECK(decide(*s, "RCPT TO:<noreply@example.com>").kind == RcptDecision::Kind::kDrop);
  d = decide(*s, "RCPT TO:<old-news@example.com>");
  CHECK(d.kind == RcptDecision::Kind::kAnswer);
  CHECK(d.reply == "550 5.7.1 This address is retired");
  CHECK(decide(*s, "RCPT TO:<nobody@example.com>").reply == "550 5.1.1 No such recipient here");
}

TEST_CASE("never relays to a foreign domain, whatever the local part says") {
  auto s = snapshot();
  for (std::string line : {"RCPT TO:<victim@foreign.test>", "RCPT TO:<victim%foreign.test@example.com>",
                           "RCPT TO:<foreign.test!victim@example.com>", "RCPT TO:<\"victim@foreign.test\"@example.com>",
                           "RCPT TO:<@example.com:victim@foreign.test>", "RCPT TO:<victim@[127.0.0.1]>"}) {
    CAPTURE(line);
    RcptDecision d = decide(*s, line);
    CHECK(d.kind == RcptDecision::Kind::kAnswer);
    CHECK(d.reply.rfind("5", 0) == 0);
  }
  CHECK(decide(*s, "RCPT TO:<victim@foreign.test>").reply == "554 5.7.1 Relay access denied");
}

TEST_CASE("routes <Postmaster> to postmaster at our own domains") {
  auto s = snapshot("[domains.\"mx.example.net\"]\ncatch_all = \"admin@gmail.test\"\n");
  RcptDecision d = decide(*s, "RCPT TO:<Postmaster>");
  CHECK(d.kind == RcptDecision::Kind::kForward);
  CHECK(d.destinations == std::vector<std::string>{"admin@gmail.test"});
}

TEST_CASE("reverses a valid SRS bounce and refuses a forged or expired one") {
  auto s = snapshot();
  RcptDecision d = decide(*s, "RCPT TO:<SRS0=ijdt=2W=otherdomain.com=test@example.net>");
  Result<std::string> made = s->srs->forward("test@otherdomain.com", kNow);
  REQUIRE(made.ok());
  d = decide(*s, "RCPT TO:<" + *made + ">");
  CHECK(d.kind == RcptDecision::Kind::kForward);
  CHECK(d.destinations == std::vector<std::string>{"test@otherdomain.com"});
  std::string forged = *made;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  CHECK(decide(*s, "RCPT TO:<" + forged + ">").reply.rfind("550 5.7.1", 0) == 0);
  ParseResult p = parse_command("RCPT TO:<" + *made + ">\r\n");
  CHECK(decide_rcpt(*s, p.command, kNow + 40 * 86400).reply.rfind("550 5.7.1", 0) == 0);
}

}  // namespace
}  // namespace emailroute
