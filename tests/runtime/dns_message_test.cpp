// The DNS reply parser: real replies built by ldns, then hostile ones made by
// hand (compression loops, cut records, counts that lie, forged IDs and
// questions), every truncation and every flipped byte of a good reply.
#include "runtime/dns_message.h"

#include <doctest/doctest.h>

#include "tests/runtime/dns_fakes.h"

namespace emailroute {
namespace {

using testing::answer_reply;
using testing::make_reply;
using testing::ReplySpec;
using Bytes = std::vector<std::uint8_t>;

Bytes query_for(const char* name, RrType type, std::uint16_t id = 0x1234) {
  Result<Bytes> q = build_query(name, type, id);
  REQUIRE(q.ok());
  return *q;
}

// A hand-made reply: header, the question of `query`, then `body` as records.
Bytes by_hand(const Bytes& query, std::uint16_t ancount, const Bytes& body, std::uint8_t flags2 = 0x80) {
  std::size_t qend = 12;
  while (query[qend] != 0) qend += query[qend] + 1u;
  qend += 5;
  Bytes m = {query[0], query[1], 0x81, flags2, 0, 1, static_cast<std::uint8_t>(ancount >> 8),
             static_cast<std::uint8_t>(ancount), 0, 0, 0, 0};
  m.insert(m.end(), query.begin() + 12, query.begin() + static_cast<long>(qend));
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

// An A record for the question's name (a pointer to offset 12), 192.0.2.1.
const Bytes kARecord = {0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 192, 0, 2, 1};

TEST_CASE("builds a recursive query with EDNS0 that ldns reads back") {
  Bytes q = query_for("Example.COM", RrType::kMx, 0xBEEF);
  CHECK(q[0] == 0xBE);
  CHECK(q[1] == 0xEF);
  CHECK((q[2] & 0x01) == 1);  // RD
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, q.data(), q.size()) == LDNS_STATUS_OK);
  CHECK(ldns_pkt_edns_udp_size(pkt) == kEdnsUdpSize);
  CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)) == LDNS_RR_TYPE_MX);
  ldns_pkt_free(pkt);
  CHECK_FALSE(build_query("bad..name", RrType::kA, 1).ok());
}

TEST_CASE("decodes MX, A, AAAA and CNAME answers with their TTLs") {
  Bytes q = query_for("example.com", RrType::kMx);
  Bytes r = answer_reply(q, {"example.com. 300 IN MX 10 MX1.example.com.", "example.com. 200 IN MX 20 mx2.example.com.",
                            "mx1.example.com. 100 IN A 192.0.2.7", "mx1.example.com. 100 IN AAAA 2001:db8::7",
                            "alias.example.com. 50 IN CNAME mx1.example.com."});
  Result<DnsReply> p = parse_reply(r, q);
  REQUIRE(p.ok());
  CHECK(p->rcode == kRcodeNoError);
  CHECK_FALSE(p->truncated);
  REQUIRE(p->answers.size() == 5);
  CHECK(p->answers[0].type == RrType::kMx);
  CHECK(p->answers[0].owner == "example.com.");
  CHECK(p->answers[0].preference == 10);
  CHECK(p->answers[0].target == "mx1.example.com.");
  CHECK(p->answers[0].ttl == 300);
  CHECK(p->answers[1].preference == 20);
  CHECK(p->answers[2].type == RrType::kA);
  CHECK(p->answers[2].address[0] == 192);
  CHECK(p->answers[2].address[3] == 7);
  CHECK(p->answers[3].type == RrType::kAaaa);
  CHECK(p->answers[3].address[0] == 0x20);
  CHECK(p->answers[3].address[15] == 7);
  CHECK(p->answers[4].type == RrType::kCname);
  CHECK(p->answers[4].target == "mx1.example.com.");
}

TEST_CASE("decodes a null MX, NXDOMAIN with its negative TTL, and SERVFAIL") {
  Bytes q = query_for("nullmx.test", RrType::kMx);
  Result<DnsReply> nullmx = parse_reply(answer_reply(q, {"nullmx.test. 300 IN MX 0 ."}), q);
  REQUIRE(nullmx.ok());
  REQUIRE(nullmx->answers.size() == 1);
  CHECK(nullmx->answers[0].target == ".");

  ReplySpec nx;
  nx.rcode = kRcodeNxDomain;
  nx.authority = {"test. 900 IN SOA ns.test. host.test. 1 3600 600 86400 120"};
  Result<DnsReply> p = parse_reply(make_reply(q, nx), q);
  REQUIRE(p.ok());
  CHECK(p->rcode == kRcodeNxDomain);
  CHECK(p->negative_ttl == 120u);

  ReplySpec sf;
  sf.rcode = kRcodeServFail;
  Result<DnsReply> s = parse_reply(make_reply(q, sf), q);
  REQUIRE(s.ok());
  CHECK(s->rcode == kRcodeServFail);
  CHECK_FALSE(s->negative_ttl.has_value());
}

TEST_CASE("keeps only the TC bit of a truncated reply") {
  Bytes q = query_for("big.test", RrType::kA);
  ReplySpec tc;
  tc.truncated = true;
  tc.answers = {"big.test. 300 IN A 192.0.2.1"};
  Bytes r = make_reply(q, tc);
  r.resize(r.size() - 3);  // a truncated UDP reply may end mid-record
  Result<DnsReply> p = parse_reply(r, q);
  REQUIRE(p.ok());
  CHECK(p->truncated);
  CHECK(p->answers.empty());
}

TEST_CASE("accepts the question in another case and ignores records of other types and classes") {
  Bytes q = query_for("example.com", RrType::kA);
  Bytes upper = query_for("EXAMPLE.com", RrType::kA);
  Bytes r = answer_reply(upper, {"example.com. 300 IN TXT \"hi\"", "example.com. 300 CH A 1.2.3.4",
                                "example.com. 300 IN A 192.0.2.1"});
  Result<DnsReply> p = parse_reply(r, q);
  REQUIRE(p.ok());
  REQUIRE(p->answers.size() == 1);
  CHECK(p->answers[0].type == RrType::kA);
}

TEST_CASE("refuses a reply with the wrong ID, question, or QR bit") {
  Bytes q = query_for("example.com", RrType::kMx);
  Bytes r = answer_reply(q, {"example.com. 300 IN MX 10 mx.example.com."});
  REQUIRE(parse_reply(r, q).ok());
  Bytes wrong_id = r;
  wrong_id[1] ^= 1;
  CHECK(parse_reply(wrong_id, q).status().code() == Status::Code::kInvalid);
  Bytes not_reply = r;
  not_reply[2] &= 0x7F;
  CHECK(parse_reply(not_reply, q).status().code() == Status::Code::kInvalid);
  CHECK(parse_reply(make_reply(query_for("example.org", RrType::kMx), {}), q).status().code() == Status::Code::kInvalid);
  CHECK(parse_reply(make_reply(query_for("example.com", RrType::kA), {}), q).status().code() == Status::Code::kInvalid);
}

TEST_CASE("refuses compression loops and forward pointers") {
  Bytes q = query_for("a.test", RrType::kA);
  Bytes good = by_hand(q, 1, kARecord);
  REQUIRE(parse_reply(good, q).ok());
  std::uint8_t at = static_cast<std::uint8_t>(good.size() - kARecord.size());
  // The owner points at itself.
  Bytes self = kARecord;
  self[1] = at;
  CHECK(parse_reply(by_hand(q, 1, self), q).status().code() == Status::Code::kCorruption);
  // A label, then a pointer back to that label: a two-step loop.
  Bytes loop = {1, 'x', 0xC0, at};
  loop.insert(loop.end(), kARecord.begin() + 2, kARecord.end());
  CHECK(parse_reply(by_hand(q, 1, loop), q).status().code() == Status::Code::kCorruption);
  // A pointer forward, into the record's own fixed fields.
  Bytes forward = kARecord;
  forward[1] = static_cast<std::uint8_t>(at + 4);
  CHECK(parse_reply(by_hand(q, 1, forward), q).status().code() == Status::Code::kCorruption);
}

TEST_CASE("refuses records that run past the end and counts that lie") {
  Bytes q = query_for("a.test", RrType::kA);
  Bytes cut = kARecord;
  cut[11] = 5;  // RDLENGTH one past the end
  CHECK(parse_reply(by_hand(q, 1, cut), q).status().code() == Status::Code::kCorruption);
  CHECK(parse_reply(by_hand(q, 2, kARecord), q).status().code() == Status::Code::kCorruption);
  CHECK(parse_reply(by_hand(q, 0, kARecord), q).status().code() == Status::Code::kCorruption);
  Bytes many = by_hand(q, 0, {});
  many[6] = 0xFF;
  CHECK(parse_reply(many, q).status().code() == Status::Code::kCorruption);
}

TEST_CASE("refuses a name longer than 255 bytes and obsolete label types") {
  Bytes q = query_for("a.test", RrType::kA);
  Bytes longname;
  for (int i = 0; i < 5; ++i) {
    longname.push_back(60);
    longname.insert(longname.end(), 60, 'x');
  }
  longname.push_back(0);
  longname.insert(longname.end(), kARecord.begin() + 2, kARecord.end());
  CHECK(parse_reply(by_hand(q, 1, longname), q).status().code() == Status::Code::kCorruption);
  Bytes extended = kARecord;
  extended[0] = 0x41;
  CHECK(parse_reply(by_hand(q, 1, extended), q).status().code() == Status::Code::kCorruption);
}

TEST_CASE("treats a TTL with the top bit set as zero") {
  Bytes q = query_for("a.test", RrType::kA);
  Bytes rec = kARecord;
  rec[6] = 0x80;
  Result<DnsReply> p = parse_reply(by_hand(q, 1, rec), q);
  REQUIRE(p.ok());
  REQUIRE(p->answers.size() == 1);
  CHECK(p->answers[0].ttl == 0);
}

TEST_CASE("refuses every truncation of a good reply and survives every flipped byte") {
  Bytes q = query_for("example.com", RrType::kMx);
  Bytes r = answer_reply(q, {"example.com. 300 IN MX 10 mx1.example.com.", "example.com. 300 IN MX 20 mx2.example.com.",
                            "mx1.example.com. 300 IN A 192.0.2.1"});
  REQUIRE(parse_reply(r, q).ok());
  for (std::size_t n = 0; n < r.size(); ++n) {
    CHECK_MESSAGE(!parse_reply(std::span(r.data(), n), q).ok(), "length ", n);
  }
  for (std::size_t i = 0; i < r.size(); ++i) {
    for (std::uint8_t bit : {0x01, 0x40, 0x80}) {
      Bytes f = r;
      f[i] ^= bit;
      Result<DnsReply> p = parse_reply(f, q);  // ok or not: it must not crash or read out of bounds
      if (p.ok()) CHECK(p->answers.size() <= kMaxAnswerRecords);
    }
  }
}

}  // namespace
}  // namespace emailroute
