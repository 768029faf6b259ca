// The delivery memory; see delivery_memory.h.
#include "runtime/delivery_memory.h"

#include <openssl/evp.h>

#include <cstring>

#include "runtime/address.h"

namespace emailroute {
namespace {

// SHA-256, looked up once per process: EVP_sha256() alone makes OpenSSL 3
// look the algorithm up again on every use.
const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

}  // namespace

std::size_t DeliveryMemory::Hash::operator()(const Key& k) const {
  std::size_t h;
  std::memcpy(&h, k.data(), sizeof h);  // already a cryptographic hash
  return h;
}

DeliveryMemory::Key DeliveryMemory::key(const Key& message_digest, std::string_view destination) {
  std::string data(message_digest.begin(), message_digest.end());
  data += folded(destination);
  Key out{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &length, sha256(), nullptr);
  return out;
}

void DeliveryMemory::expire(std::int64_t now) {
  while (!order_.empty() && (order_.front().first <= now || order_.size() > kMaxEntries)) {
    auto it = expiry_.find(order_.front().second);
    if (it != expiry_.end() && it->second == order_.front().first) expiry_.erase(it);
    order_.pop_front();
  }
}

bool DeliveryMemory::contains(const Key& key, std::int64_t now) {
  expire(now);
  auto it = expiry_.find(key);
  return it != expiry_.end() && it->second > now;
}

void DeliveryMemory::remember(const Key& key, std::int64_t now) {
  std::int64_t until = now + kLifetimeSeconds;
  expiry_[key] = until;
  order_.emplace_back(until, key);
  expire(now);
}

MessageDigest::MessageDigest() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256(), nullptr);
}

MessageDigest::~MessageDigest() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void MessageDigest::add_line(std::string_view line) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestUpdate(ctx, line.data(), line.size());
  EVP_DigestUpdate(ctx, "\r\n", 2);
}

DeliveryMemory::Key MessageDigest::finish() {
  DeliveryMemory::Key out{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &length);
  return out;
}

}  // namespace emailroute
