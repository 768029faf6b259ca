// libFuzzer target for the DNS reply parser (runtime/dns_message): any bytes
// as the reply to a fixed MX question. The query's ID is taken from the
// input, so mutations get past the ID check and reach the structural walk
// and ldns's decoding. Built and run by fuzz/run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "runtime/dns_message.h"

using emailroute::DnsReply;
using emailroute::Result;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint16_t id = size >= 2 ? static_cast<std::uint16_t>((data[0] << 8) | data[1]) : 0;
  Result<std::vector<std::uint8_t>> query = emailroute::build_query("example.com", emailroute::RrType::kMx, id);
  if (!query.ok()) std::abort();
  Result<DnsReply> reply = emailroute::parse_reply(std::span<const std::uint8_t>(data, size), *query);
  if (reply.ok()) {
    // What the relay relies on: bounded records, decoded names in canonical form.
    if (reply->answers.size() > emailroute::kMaxAnswerRecords) std::abort();
    if (reply->truncated && !reply->answers.empty()) std::abort();
    for (const emailroute::DnsRecord& r : reply->answers) {
      if (r.owner.empty() || r.owner.back() != '.') std::abort();
    }
  }
  return 0;
}
