// DNS messages for the relay's MX resolver: a query built with ldns, and a
// reply checked and decoded into plain structs. Pure functions over bytes.
//
// SECURITY: a reply comes from the network and may be forged or hostile.
// parse_reply accepts it only when it answers the query we sent (same ID,
// QR set, opcode QUERY, one question equal to ours ignoring ASCII case) and
// its structure is sound before ldns decodes it: every name within bounds,
// at most 255 bytes, compression pointers pointing strictly backwards (so
// they cannot loop), every record inside the message, the header counts
// matching the records exactly with nothing left over. Only class IN
// records of the four types the relay uses are kept, at most
// kMaxAnswerRecords of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"

namespace emailroute {

enum class RrType : std::uint16_t { kA = 1, kCname = 5, kMx = 15, kAaaa = 28 };

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;

/// A reply longer than this is refused (the TCP length prefix is 16 bits).
inline constexpr std::size_t kMaxDnsMessage = 65535;
/// The EDNS0 UDP payload size we advertise (DNS flag day 2020).
inline constexpr std::uint16_t kEdnsUdpSize = 1232;
/// Records kept from one answer section; the rest are ignored.
inline constexpr std::size_t kMaxAnswerRecords = 64;
/// A reply with more records than this in all sections is refused.
inline constexpr std::size_t kMaxRecordsPerMessage = 1024;

struct DnsRecord {
  std::string owner;  // lowercase, absolute: "mx.example."
  RrType type = RrType::kA;
  std::uint32_t ttl = 0;
  std::uint16_t preference = 0;          // MX
  std::string target;                    // MX exchange or CNAME target, lowercase, absolute ("." for null MX)
  std::array<std::uint8_t, 16> address{};  // A: the first 4 bytes; AAAA: all 16
};

struct DnsReply {
  std::uint8_t rcode = kRcodeNoError;
  bool truncated = false;  // TC: ask again over TCP; no records are decoded
  std::vector<DnsRecord> answers;
  /// RFC 2308: how long a negative answer may be cached (min of the SOA's
  /// TTL and MINIMUM), when the authority section holds an SOA.
  std::optional<std::uint32_t> negative_ttl;
};

/// A recursive query (RD set, EDNS0 with kEdnsUdpSize) for `name` with `id`.
/// `name` may omit the trailing dot; it is always taken as absolute.
Result<std::vector<std::uint8_t>> build_query(std::string_view name, RrType type, std::uint16_t id);

/// Checks that `reply` answers `query` (bytes from build_query) and decodes it.
/// kInvalid: not an answer to this query (wrong ID or question, QR clear);
/// kCorruption: malformed.
Result<DnsReply> parse_reply(std::span<const std::uint8_t> reply, std::span<const std::uint8_t> query);

/// Lowercase, absolute form of a domain name ("Example.COM" → "example.com.").
std::string canonical_name(std::string_view name);

const char* to_string(RrType type);

}  // namespace emailroute
