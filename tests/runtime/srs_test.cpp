// SRS forward/reverse, and interoperability with Perl's Mail::SRS (the
// reference implementation), which is run as a child process when installed.
#include "runtime/srs.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace emailroute {
namespace {

constexpr std::int64_t kNow = 1577836860;  // 2020-01-01 00:01:00 UTC
constexpr std::int64_t kDay = 86400;

Srs make_srs(std::vector<std::string> secrets = {"tops3cr3t"}) {
  Result<Srs> srs = Srs::create("example.com", std::move(secrets));
  REQUIRE(srs.ok());
  return *srs;
}

std::string forward(const Srs& srs, std::string_view sender, std::int64_t now = kNow) {
  Result<std::string> r = srs.forward(sender, now);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return *r;
}

// The reversed address, or "error: why".
std::string reverse(const Srs& srs, std::string_view address, std::int64_t now = kNow) {
  Result<std::string> r = srs.reverse(address, now);
  return r.ok() ? *r : "error: " + r.status().message();
}

// A sender whose standard-base64 hash holds '+' or '/' (ours shows '-' or '_').
std::string sender_with_url_safe_hash(const Srs& srs) {
  for (int i = 0;; ++i) {
    std::string sender = "u" + std::to_string(i) + "@otherdomain.com";
    std::string hash = forward(srs, sender).substr(5, 4);
    if (hash.find_first_of("-_") != std::string::npos) return sender;
  }
}

}  // namespace

TEST_CASE("forward matches the published vector") {
  CHECK(forward(make_srs(), "test@otherdomain.com") == "SRS0=vmyz=2W=otherdomain.com=test@example.com");
}

TEST_CASE("reverse gives back the original sender") {
  CHECK(reverse(make_srs(), "SRS0=vmyz=2W=otherdomain.com=test@example.com") == "test@otherdomain.com");
}

TEST_CASE("reverse ignores the case of the tag, hash, timestamp and domain") {
  Srs srs = make_srs();
  CHECK(reverse(srs, "srs0=VMYZ=2w=otherdomain.com=test@EXAMPLE.com") == "test@otherdomain.com");
  CHECK(reverse(srs, "Srs0=vmyz=2W=OTHERDOMAIN.COM=TEST@example.com") == "TEST@OTHERDOMAIN.COM");
}

TEST_CASE("reverse accepts the separators Mail::SRS allows after the tag") {
  Srs srs = make_srs();
  CHECK(reverse(srs, "SRS0+vmyz=2W=otherdomain.com=test@example.com") == "test@otherdomain.com");
  CHECK(reverse(srs, "SRS0-vmyz=2W=otherdomain.com=test@example.com") == "test@otherdomain.com");
}

TEST_CASE("a local part containing '=' round-trips") {
  Srs srs = make_srs();
  std::string srs_address = forward(srs, "a=b==c@otherdomain.com");
  CHECK(srs_address.ends_with("=2W=otherdomain.com=a=b==c@example.com"));
  CHECK(reverse(srs, srs_address) == "a=b==c@otherdomain.com");
}

TEST_CASE("the empty sender stays empty") { CHECK(forward(make_srs(), "") == ""); }

TEST_CASE("a sender already in the SRS domain is left alone") {
  CHECK(forward(make_srs(), "alice@Example.COM") == "alice@Example.COM");
}

TEST_CASE("a quoted local part or an address literal is not rewritten") {
  Srs srs = make_srs();
  CHECK_FALSE(srs.forward("\"a b\"@otherdomain.com", kNow).ok());
  CHECK_FALSE(srs.forward("user@[192.0.2.1]", kNow).ok());
  CHECK_FALSE(srs.forward("no-at-sign", kNow).ok());
}

TEST_CASE("an address is valid for 21 days and no longer") {
  Srs srs = make_srs();
  std::string address = "SRS0=vmyz=2W=otherdomain.com=test@example.com";
  CHECK(reverse(srs, address, kNow + 21 * kDay) == "test@otherdomain.com");
  CHECK(reverse(srs, address, kNow + 22 * kDay) == "error: SRS address expired (older than 21 days)");
}

TEST_CASE("an address from the future is refused") {
  CHECK(reverse(make_srs(), "SRS0=vmyz=2W=otherdomain.com=test@example.com", kNow - kDay) ==
        "error: SRS address expired (older than 21 days)");
}

TEST_CASE("the day counter wraps after 1024 days") {
  Srs srs = make_srs();
  std::int64_t last_slot = (kNow / kDay / 1024 + 1) * 1024 * kDay - 1;  // day slot 1023
  std::string address = forward(srs, "test@otherdomain.com", last_slot);
  CHECK(address.substr(10, 2) == "77");
  CHECK(reverse(srs, address, last_slot + 3 * kDay) == "test@otherdomain.com");
  CHECK(forward(srs, "test@otherdomain.com", last_slot + 1).substr(10, 2) == "AA");
}

TEST_CASE("a tampered address does not verify") {
  Srs srs = make_srs();
  CHECK(reverse(srs, "SRS0=vmyz=2W=otherdomain.com=tesT2@example.com") == "error: SRS hash does not verify");
  CHECK(reverse(srs, "SRS0=vmyy=2W=otherdomain.com=test@example.com") == "error: SRS hash does not verify");
  CHECK(reverse(srs, "SRS0=vmyz=2X=otherdomain.com=test@example.com") == "error: SRS hash does not verify");
  CHECK(reverse(srs, "SRS0=vmyz=2W=evil.com=test@example.com") == "error: SRS hash does not verify");
}

TEST_CASE("a malformed SRS address is refused with the reason") {
  Srs srs = make_srs();
  const std::string malformed = "error: malformed SRS0 address (expected SRS0=hash=TT=domain=local)";
  CHECK(reverse(srs, "SRS0=vmyz@example.com") == malformed);
  CHECK(reverse(srs, "SRS0=vmyz=2W=otherdomain.com@example.com") == malformed);
  CHECK(reverse(srs, "SRS0=vmyz=2W==test@example.com") == malformed);
  CHECK(reverse(srs, "SRS0=vmy=2W=otherdomain.com=test@example.com") == malformed);
  CHECK(reverse(srs, "SRS0=vmyz=2W1=otherdomain.com=test@example.com") ==
        "error: malformed SRS0 timestamp '2W1'");
  CHECK(reverse(srs, "SRS0=vmyz=2!=otherdomain.com=test@example.com") == "error: malformed SRS0 timestamp '2!'");
  CHECK(reverse(srs, "SRS1=abcd=fwd.example@example.com") ==
        "error: malformed SRS1 address (expected SRS1=hash=domain=rest)");
  CHECK(reverse(srs, "test@example.com") == "error: not an SRS address");
  CHECK(reverse(srs, "SRS0=vmyz=2W=otherdomain.com=test@example.org") == "error: not an SRS address of example.com");
  CHECK(reverse(srs, "no-at-sign") == "error: SRS address has no '@'");
}

TEST_CASE("the hash is emitted URL-safe and accepted in both alphabets") {
  Srs srs = make_srs();
  std::string address = forward(srs, sender_with_url_safe_hash(srs));
  CHECK(address.substr(5, 4).find_first_of("+/") == std::string::npos);
  std::string standard = address;
  for (std::size_t i = 5; i < 9; ++i) standard[i] = standard[i] == '-' ? '+' : standard[i] == '_' ? '/' : standard[i];
  CHECK(standard != address);
  CHECK(reverse(srs, address).ends_with("@otherdomain.com"));
  CHECK(reverse(srs, standard) == reverse(srs, address));
}

TEST_CASE("a sender rewritten by another forwarder becomes SRS1 and reverses to that forwarder") {
  Srs srs = make_srs();
  std::string first_hop = "SRS0=HHHH=TT=orig.example=user@fwd.example";
  std::string address = forward(srs, first_hop);
  CHECK(address.starts_with("SRS1="));
  CHECK(address.ends_with("=fwd.example==HHHH=TT=orig.example=user@example.com"));
  CHECK(reverse(srs, address) == first_hop);
  CHECK(reverse(srs, address, kNow + 400 * kDay) == first_hop);  // SRS1 carries no timestamp
}

TEST_CASE("an SRS1 sender keeps its first hop and is signed again") {
  Srs srs = make_srs();
  std::string address = forward(srs, "SRS1=XXXX=fwd.example==HHHH=TT=orig.example=user@fwd2.example");
  CHECK(address.starts_with("SRS1="));
  CHECK(address.ends_with("=fwd.example==HHHH=TT=orig.example=user@example.com"));
  CHECK(address.substr(5, 4) != "XXXX");
  CHECK(reverse(srs, address) == "SRS0=HHHH=TT=orig.example=user@fwd.example");
  std::string tampered = address;
  tampered.replace(tampered.find("fwd.example"), 11, "bad.example");
  CHECK(reverse(srs, tampered) == "error: SRS hash does not verify");
}

TEST_CASE("a malformed SRS1 sender is wrapped as an ordinary one") {
  Srs srs = make_srs();
  std::string address = forward(srs, "SRS1=junk@fwd.example");
  CHECK(address.starts_with("SRS0="));
  CHECK(reverse(srs, address) == "SRS1=junk@fwd.example");
}

TEST_CASE("the first secret signs and every secret verifies") {
  Srs old_srs = make_srs({"old-secret"});
  Srs rotated = make_srs({"new-secret", "old-secret"});
  std::string signed_with_old = forward(old_srs, "test@otherdomain.com");
  CHECK(reverse(rotated, signed_with_old) == "test@otherdomain.com");
  CHECK(forward(rotated, "test@otherdomain.com") == forward(make_srs({"new-secret"}), "test@otherdomain.com"));
  CHECK(reverse(make_srs({"new-secret"}), signed_with_old) == "error: SRS hash does not verify");
}

TEST_CASE("create refuses a missing secret and a bad domain") {
  CHECK(Srs::create("example.com", {}).status().message() == "no SRS secret");
  CHECK(Srs::create("example.com", {"s", ""}).status().message() == "empty SRS secret");
  CHECK_FALSE(Srs::create("exa mple.com", {"s"}).ok());
}

TEST_CASE("SRS local parts are recognised by tag and separator") {
  CHECK(is_srs_local_part("SRS0=abcd=2W=x.com=y"));
  CHECK(is_srs_local_part("srs1+abcd"));
  CHECK_FALSE(is_srs_local_part("SRS2=abcd"));
  CHECK_FALSE(is_srs_local_part("SRS0"));
  CHECK_FALSE(is_srs_local_part("SRS0_abcd"));
  CHECK_FALSE(is_srs_local_part("srsuser"));
}

// ---- Interoperability with Mail::SRS (libmail-srs-perl) ----

namespace {

// Mail::SRS reads time(); the BEGIN block pins it to the time we pass.
constexpr const char* kPerlScript =
    "BEGIN { $main::T = $ARGV[2]; *CORE::GLOBAL::time = sub () { $main::T } } "
    "use Mail::SRS; my ($mode, $secret, $t, $address, $alias) = @ARGV; "
    "my $srs = Mail::SRS->new(Secret => $secret); "
    "my $r = eval { $mode eq \"forward\" ? $srs->forward($address, $alias) : $srs->reverse($address) }; "
    "print defined $r ? \"ok $r\" : \"error $@\";";

bool have_mail_srs() { return std::system("perl -MMail::SRS -e 1 >/dev/null 2>&1") == 0; }

// Runs Mail::SRS; "ok ADDRESS" or "error WHY". REQUIRES: arguments hold no `'`.
std::string mail_srs(const std::string& mode, const std::string& address, std::int64_t now) {
  std::string command = "perl -e '" + std::string(kPerlScript) + "' " + mode + " tops3cr3t " +
                        std::to_string(now) + " '" + address + "' example.com 2>&1";
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buf[512];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    pclose(pipe);
  }
  return out;
}

}  // namespace

TEST_CASE("Mail::SRS and emailroute reverse each other's addresses") {
  if (!have_mail_srs()) {
    MESSAGE("perl module Mail::SRS not installed; interoperability not tested");
    return;
  }
  Srs srs = make_srs();
  for (std::int64_t now : {kNow, kNow + 400 * kDay, std::int64_t{1700000000}}) {
    CAPTURE(now);
    for (std::string sender : {"test@otherdomain.com", "a=b@x.example", "Mixed.Case@Sub.Example.ORG",
                               "SRS0=HHHH=TT=orig.example=user@fwd.example",
                               "SRS1=XXXX=fwd.example==HHHH=TT=orig.example=user@fwd2.example"}) {
      CAPTURE(sender);
      std::string ours = forward(srs, sender, now);
      // Mail::SRS emits the standard alphabet; it is otherwise the same address.
      std::string theirs = mail_srs("forward", sender, now);
      std::string standard = ours;
      for (std::size_t i = 5; i < 9; ++i) standard[i] = standard[i] == '-' ? '+' : standard[i] == '_' ? '/' : standard[i];
      CHECK(theirs == "ok " + standard);
      CHECK(reverse(srs, theirs.substr(3), now) == reverse(srs, ours, now));
      if (ours == standard) CHECK(mail_srs("reverse", ours, now) == "ok " + reverse(srs, ours, now));
    }
  }
  // Many senders, so that our reverse reads '+' and '/' in Mail::SRS hashes.
  int standard_only = 0;
  for (int i = 0; i < 64; ++i) {
    std::string sender = "user" + std::to_string(i) + "@otherdomain.com";
    std::string theirs = mail_srs("forward", sender, kNow);
    REQUIRE(theirs.starts_with("ok "));
    if (theirs.substr(8, 4).find_first_of("+/") != std::string::npos) ++standard_only;
    CHECK(reverse(srs, theirs.substr(3), kNow + 3 * kDay) == sender);
  }
  CHECK(standard_only > 0);
}

TEST_CASE("Mail::SRS does not accept the URL-safe hash characters") {
  // Documented limitation of Mail::SRS 0.31: it compares hashes in the
  // standard base64 alphabet only. Bounces always come back to the relay
  // that signed them, so only our own reverse() ever needs to read ours.
  if (!have_mail_srs()) {
    MESSAGE("perl module Mail::SRS not installed; interoperability not tested");
    return;
  }
  Srs srs = make_srs();
  std::string address = forward(srs, sender_with_url_safe_hash(srs));
  CHECK(mail_srs("reverse", address, kNow).starts_with("error "));
}

}  // namespace emailroute
