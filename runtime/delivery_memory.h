// Which destinations already accepted which message, remembered in memory
// for a few days, so that a sender retrying after a partial fan-out failure
// (or after losing our 250) does not make a destination receive the message
// twice. Nothing of the message is kept: only a SHA-256 of its bytes and the
// destination address.
//
// Bounded: at most kMaxEntries keys; the oldest go first. Per process: with
// --workers, a retry that reaches another worker is not recognised (the
// design accepts this: relays share no state).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace emailroute {

class DeliveryMemory {
 public:
  using Key = std::array<std::uint8_t, 32>;
  static constexpr std::size_t kMaxEntries = 200000;
  static constexpr std::int64_t kLifetimeSeconds = 4 * 86400;

  /// The key of `message_digest` (SHA-256 of the message) at `destination`
  /// (compared case-insensitively).
  static Key key(const Key& message_digest, std::string_view destination);

  bool contains(const Key& key, std::int64_t now);
  void remember(const Key& key, std::int64_t now);
  std::size_t size() const { return expiry_.size(); }

 private:
  struct Hash {
    std::size_t operator()(const Key& k) const;
  };
  void expire(std::int64_t now);
  std::unordered_map<Key, std::int64_t, Hash> expiry_;
  std::deque<std::pair<std::int64_t, Key>> order_;  // insertion order, for expiry and eviction
};

/// SHA-256 over message lines as they stream (each line and its CRLF).
class MessageDigest {
 public:
  MessageDigest();
  ~MessageDigest();
  MessageDigest(const MessageDigest&) = delete;
  MessageDigest& operator=(const MessageDigest&) = delete;
  void add_line(std::string_view line);
  DeliveryMemory::Key finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace emailroute
