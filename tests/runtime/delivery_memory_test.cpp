// The memory of deliveries that stops duplicates on a sender's retry.
#include "runtime/delivery_memory.h"

#include <doctest/doctest.h>

namespace emailroute {
namespace {

DeliveryMemory::Key digest_of(std::initializer_list<std::string_view> lines) {
  MessageDigest d;
  for (std::string_view line : lines) d.add_line(line);
  return d.finish();
}

TEST_CASE("remembers a message per destination, case-insensitively, until it expires") {
  DeliveryMemory memory;
  DeliveryMemory::Key message = digest_of({"Subject: a", "", "body"});
  memory.remember(DeliveryMemory::key(message, "alice@dest.test"), 1000);
  CHECK(memory.contains(DeliveryMemory::key(message, "Alice@Dest.Test"), 1001));
  CHECK(!memory.contains(DeliveryMemory::key(message, "bob@dest.test"), 1001));
  CHECK(!memory.contains(DeliveryMemory::key(digest_of({"Subject: a", "", "body2"}), "alice@dest.test"), 1001));
  CHECK(!memory.contains(DeliveryMemory::key(message, "alice@dest.test"), 1000 + DeliveryMemory::kLifetimeSeconds));
  CHECK(memory.size() == 0);
}

TEST_CASE("digests lines with their line ends, so splitting differently differs") {
  CHECK(digest_of({"ab", "c"}) != digest_of({"a", "bc"}));
  CHECK(digest_of({"ab", "c"}) == digest_of({"ab", "c"}));
}

TEST_CASE("keeps at most kMaxEntries keys, dropping the oldest") {
  DeliveryMemory memory;
  DeliveryMemory::Key message = digest_of({"x"});
  for (std::size_t i = 0; i <= DeliveryMemory::kMaxEntries; ++i) {
    memory.remember(DeliveryMemory::key(message, "u" + std::to_string(i) + "@d.test"), 10);
  }
  CHECK(memory.size() == DeliveryMemory::kMaxEntries);
  CHECK(!memory.contains(DeliveryMemory::key(message, "u0@d.test"), 10));
  CHECK(memory.contains(DeliveryMemory::key(message, "u1@d.test"), 10));
}

}  // namespace
}  // namespace emailroute
