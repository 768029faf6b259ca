// Query building and reply checking; see dns_message.h. The structural walk
// below runs before ldns sees the bytes, so ldns only ever decodes a message
// whose every name and record is known to be in bounds and loop-free.
#include "runtime/dns_message.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdlib>

namespace emailroute {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameLength = 255;   // RFC 1035 §3.1, wire form with the root byte
constexpr int kMaxPointers = 127;            // more than any 255-byte name can need

std::uint16_t get16(std::span<const std::uint8_t> m, std::size_t at) {
  return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

// Moves `pos` past the name there. A compression pointer must point before the
// start of the run of labels that holds it, so positions only decrease and
// no sequence of pointers can loop.
bool skip_name(std::span<const std::uint8_t> m, std::size_t& pos) {
  std::size_t p = pos;
  std::size_t floor = pos;  // every pointer must land below this
  std::size_t length = 0;
  int pointers = 0;
  bool jumped = false;
  for (;;) {
    if (p >= m.size()) return false;
    std::uint8_t len = m[p];
    if ((len & 0xC0) == 0xC0) {
      if (m.size() - p < 2) return false;
      std::size_t target = static_cast<std::size_t>(((len & 0x3F) << 8) | m[p + 1]);
      if (target >= floor || ++pointers > kMaxPointers) return false;
      if (!jumped) pos = p + 2;
      jumped = true;
      p = floor = target;
      continue;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40 and 0x80 label types are obsolete (RFC 6891 §5)
    if (len > m.size() - p - 1) return false;
    length += std::size_t{len} + 1;
    if (length > kMaxNameLength) return false;
    if (len == 0) {
      if (!jumped) pos = p + 1;
      return true;
    }
    p += std::size_t{len} + 1;
  }
}

// Moves `pos` past one resource record (name, 10 fixed bytes, RDATA).
bool skip_record(std::span<const std::uint8_t> m, std::size_t& pos) {
  if (!skip_name(m, pos) || m.size() - pos < 10) return false;
  std::size_t rdlength = get16(m, pos + 8);
  pos += 10;
  if (rdlength > m.size() - pos) return false;
  pos += rdlength;
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string name_text(const ldns_rdf* rdf) {
  if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return "";
  char* s = ldns_rdf2str(rdf);
  if (s == nullptr) return "";
  std::string out = canonical_name(s);
  std::free(s);
  return out;
}

// RFC 2181 §8: a TTL with the top bit set is taken as zero.
std::uint32_t ttl_of(const ldns_rr* rr) {
  std::uint32_t ttl = ldns_rr_ttl(rr);
  return ttl > 0x7FFFFFFFu ? 0 : ttl;
}

// One answer record as a DnsRecord; false for types and shapes we do not use.
bool decode(const ldns_rr* rr, DnsRecord& out) {
  if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) return false;
  out.owner = name_text(ldns_rr_owner(rr));
  out.ttl = ttl_of(rr);
  if (out.owner.empty()) return false;
  const ldns_rdf* r0 = ldns_rr_rdf(rr, 0);
  switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA: {
      std::size_t want = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ? 4 : 16;
      if (ldns_rr_rd_count(rr) != 1 || r0 == nullptr || ldns_rdf_size(r0) != want) return false;
      out.type = want == 4 ? RrType::kA : RrType::kAaaa;
      std::copy(ldns_rdf_data(r0), ldns_rdf_data(r0) + want, out.address.begin());
      return true;
    }
    case LDNS_RR_TYPE_MX: {
      const ldns_rdf* r1 = ldns_rr_rdf(rr, 1);
      if (ldns_rr_rd_count(rr) != 2 || r0 == nullptr || ldns_rdf_size(r0) != 2) return false;
      out.type = RrType::kMx;
      out.preference = ldns_rdf2native_int16(r0);
      out.target = name_text(r1);
      return !out.target.empty();
    }
    case LDNS_RR_TYPE_CNAME:
      if (ldns_rr_rd_count(rr) != 1) return false;
      out.type = RrType::kCname;
      out.target = name_text(r0);
      return !out.target.empty();
    default:
      return false;
  }
}

// RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM) seconds.
std::optional<std::uint32_t> negative_ttl(const ldns_pkt* pkt) {
  const ldns_rr_list* auth = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; auth != nullptr && i < ldns_rr_list_rr_count(auth); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(auth, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7) continue;
    const ldns_rdf* minimum = ldns_rr_rdf(rr, 6);
    if (minimum == nullptr || ldns_rdf_size(minimum) != 4) continue;
    std::uint32_t m = ldns_rdf2native_int32(minimum);
    std::uint32_t t = ttl_of(rr);
    return m < t ? m : t;
  }
  return std::nullopt;
}

}  // namespace

std::string canonical_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out += lower(c);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

const char* to_string(RrType type) {
  switch (type) {
    case RrType::kA: return "A";
    case RrType::kCname: return "CNAME";
    case RrType::kMx: return "MX";
    case RrType::kAaaa: return "AAAA";
  }
  return "?";
}

Result<std::vector<std::uint8_t>> build_query(std::string_view name, RrType type, std::uint16_t id) {
  std::string absolute = canonical_name(name);
  ldns_rdf* qname = ldns_dname_new_frm_str(absolute.c_str());
  if (qname == nullptr) return Status::invalid("not a domain name: " + std::string(name));
  // ldns_pkt_query_new owns qname from here, also on failure.
  ldns_pkt* pkt = ldns_pkt_query_new(qname, static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, LDNS_RD);
  if (pkt == nullptr) return Status::io_error("out of memory");
  ldns_pkt_set_id(pkt, id);
  ldns_pkt_set_edns_udp_size(pkt, kEdnsUdpSize);
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  ldns_status st = ldns_pkt2wire(&wire, pkt, &size);
  ldns_pkt_free(pkt);
  if (st != LDNS_STATUS_OK || wire == nullptr) {
    std::free(wire);
    return Status::invalid(std::string("cannot build a query for ") + absolute + ": " + ldns_get_errorstr_by_id(st));
  }
  std::vector<std::uint8_t> out(wire, wire + size);
  std::free(wire);
  return out;
}

Result<DnsReply> parse_reply(std::span<const std::uint8_t> m, std::span<const std::uint8_t> query) {
  if (m.size() < kHeaderSize) return Status::corruption("reply shorter than a DNS header");
  if (m.size() > kMaxDnsMessage) return Status::corruption("reply longer than 65535 bytes");
  if (query.size() < kHeaderSize) return Status::invalid("no query to match");
  if (m[0] != query[0] || m[1] != query[1]) return Status::invalid("reply ID does not match the query");
  if ((m[2] & 0x80) == 0) return Status::invalid("not a reply (QR bit clear)");
  if ((m[2] & 0x78) != 0) return Status::invalid("reply opcode is not QUERY");
  if (get16(m, 4) != 1) return Status::invalid("reply does not hold exactly one question");

  // The question, compared with ours byte by byte ignoring ASCII case (length
  // bytes are below 64, so folding cannot confuse them with letters).
  std::size_t pos = kHeaderSize;
  if (!skip_name(m, pos) || m.size() - pos < 4) return Status::corruption("malformed question");
  pos += 4;
  std::size_t qlen = pos - kHeaderSize;
  std::size_t qpos = kHeaderSize;
  if (!skip_name(query, qpos) || query.size() - qpos < 4) return Status::invalid("malformed query");
  if (qlen != qpos + 4 - kHeaderSize) return Status::invalid("reply question differs from the query");
  for (std::size_t i = 0; i < qlen; ++i) {
    if (lower(static_cast<char>(m[kHeaderSize + i])) != lower(static_cast<char>(query[kHeaderSize + i]))) {
      return Status::invalid("reply question differs from the query");
    }
  }

  DnsReply out;
  out.rcode = m[3] & 0x0F;
  out.truncated = (m[2] & 0x02) != 0;
  if (out.truncated) return out;  // records may be cut short: only the TC bit is used

  std::size_t records = std::size_t{get16(m, 6)} + get16(m, 8) + get16(m, 10);
  if (records > kMaxRecordsPerMessage) return Status::corruption("too many records");
  for (std::size_t i = 0; i < records; ++i) {
    if (!skip_record(m, pos)) return Status::corruption("record " + std::to_string(i + 1) + " runs past the end or is malformed");
  }
  if (pos != m.size()) return Status::corruption("bytes after the last record (the counts are wrong)");

  ldns_pkt* pkt = nullptr;
  ldns_status st = ldns_wire2pkt(&pkt, m.data(), m.size());
  if (st != LDNS_STATUS_OK || pkt == nullptr) {
    if (pkt != nullptr) ldns_pkt_free(pkt);
    return Status::corruption(std::string("malformed reply: ") + ldns_get_errorstr_by_id(st));
  }
  const ldns_rr_list* answer = ldns_pkt_answer(pkt);
  std::size_t count = answer != nullptr ? ldns_rr_list_rr_count(answer) : 0;
  for (std::size_t i = 0; i < count && out.answers.size() < kMaxAnswerRecords; ++i) {
    DnsRecord r;
    if (decode(ldns_rr_list_rr(answer, i), r)) out.answers.push_back(std::move(r));
  }
  out.negative_ttl = negative_ttl(pkt);
  ldns_pkt_free(pkt);
  return out;
}

}  // namespace emailroute
