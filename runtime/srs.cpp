// SRS0/SRS1 forward and reverse; the scheme is described in srs.h.
#include "runtime/srs.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <initializer_list>

#include "runtime/address.h"

namespace emailroute {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr int kTimeSlots = 1024;  // two base32 characters
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t kFullHashLength = 27;  // base64 of 20 octets, no padding

// The tag is "SRS0" or "SRS1"; any case, followed by one of Mail::SRS's separators.
bool has_tag(std::string_view local, char digit) {
  return local.size() >= 5 && fold(local[0]) == 's' && fold(local[1]) == 'r' && fold(local[2]) == 's' &&
         local[3] == digit && (local[4] == '=' || local[4] == '+' || local[4] == '-');
}

// base64(HMAC-SHA1(secret, lowercased concatenation of parts)), standard
// alphabet, unpadded. Hashing the concatenation equals Mail::SRS adding each
// lowercased part to the HMAC in turn. An empty string if OpenSSL fails
// (out of memory), which never verifies and is refused before signing.
std::string hash_of(const EVP_MAC_CTX* keyed, std::initializer_list<std::string_view> parts) {
  std::string data;
  for (std::string_view part : parts) data += folded(part);
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(keyed), EVP_MAC_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  std::size_t digest_length = 0;
  if (!ctx || !EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) ||
      !EVP_MAC_final(ctx.get(), digest, &digest_length, sizeof digest)) {
    return {};
  }
  std::string out;
  for (std::size_t i = 0; i < digest_length; i += 3) {
    unsigned int group = digest[i] << 16;
    if (i + 1 < digest_length) group |= digest[i + 1] << 8;
    if (i + 2 < digest_length) group |= digest[i + 2];
    for (int k = 0; k < 4 && out.size() < kFullHashLength; ++k) out += kBase64[(group >> (18 - 6 * k)) & 63];
  }
  return out;
}

// '+' and '/' are how the URL-safe '-' and '_' read in the standard alphabet.
char normalized(char c) { return c == '-' ? '+' : c == '_' ? '/' : fold(c); }

bool hash_matches(const std::vector<std::shared_ptr<EVP_MAC_CTX>>& keys, std::string_view hash,
                  std::initializer_list<std::string_view> parts) {
  bool any = false;
  for (const auto& key : keys) {
    std::string expected = hash_of(key.get(), parts);
    if (expected.size() < hash.size()) continue;
    unsigned difference = 0;  // constant time over the characters compared
    for (std::size_t i = 0; i < hash.size(); ++i) difference |= normalized(hash[i]) ^ normalized(expected[i]);
    any |= difference == 0;
  }
  return any;
}

std::string url_safe(std::string hash) {
  for (char& c : hash) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return hash;
}

int day_slot(std::int64_t now) {
  std::int64_t day = now / kSecondsPerDay - (now % kSecondsPerDay < 0 ? 1 : 0);  // floor
  return static_cast<int>(((day % kTimeSlots) + kTimeSlots) % kTimeSlots);
}

std::string timestamp(std::int64_t now) {
  int slot = day_slot(now);
  return {kBase32[(slot >> 5) & 31], kBase32[slot & 31]};
}

// The day slot a two-character timestamp names, or -1.
int parse_timestamp(std::string_view tt) {
  if (tt.size() != 2) return -1;
  int slot = 0;
  for (char c : tt) {
    std::size_t digit = kBase32.find(c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c);
    if (digit == std::string_view::npos) return -1;
    slot = slot * 32 + static_cast<int>(digit);
  }
  return slot;
}

// Splits at '=' into at most `count` fields; the last keeps any further '='.
std::vector<std::string_view> split_fields(std::string_view text, std::size_t count) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < count) {
    std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) break;
    fields.push_back(text.substr(0, eq));
    text.remove_prefix(eq + 1);
  }
  fields.push_back(text);
  return fields;
}

bool all_nonempty(const std::vector<std::string_view>& fields) {
  for (std::string_view f : fields) {
    if (f.empty()) return false;
  }
  return true;
}

bool plausible_hash(std::string_view hash) { return hash.size() >= kSrsHashLength && hash.size() <= kFullHashLength; }

}  // namespace

bool is_srs_local_part(std::string_view local) { return has_tag(local, '0') || has_tag(local, '1'); }

Result<Srs> Srs::create(std::string srs_domain, std::vector<std::string> secrets) {
  if (Status s = check_domain(srs_domain); !s.ok()) return Status::invalid("SRS domain: " + s.message());
  if (secrets.empty()) return Status::invalid("no SRS secret");
  static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // once per process
  if (hmac == nullptr) return Status::invalid("OpenSSL has no HMAC");
  std::vector<KeyedHmac> keys;
  for (std::string& secret : secrets) {
    if (secret.empty()) return Status::invalid("empty SRS secret");
    KeyedHmac key(EVP_MAC_CTX_new(hmac), EVP_MAC_CTX_free);
    char digest_name[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0), OSSL_PARAM_construct_end()};
    if (!key || !EVP_MAC_init(key.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params)) {
      return Status::invalid("OpenSSL cannot key HMAC-SHA1");
    }
    OPENSSL_cleanse(secret.data(), secret.size());  // only the keyed context keeps it
    keys.push_back(std::move(key));
  }
  return Srs(std::move(srs_domain), std::move(keys));
}

Result<std::string> Srs::forward(std::string_view sender, std::int64_t now) const {
  if (sender.empty()) return std::string();
  std::size_t at = sender.rfind('@');
  if (at == std::string_view::npos || at == 0) return Status::invalid("sender has no local part and domain");
  std::string_view local = sender.substr(0, at);
  std::string_view domain = sender.substr(at + 1);
  if (local.front() == '"') return Status::invalid("a quoted local part cannot be SRS-rewritten");
  if (Status s = check_domain(domain); !s.ok()) return Status::invalid("sender domain cannot be SRS-rewritten: " + s.message());
  if (folded(domain) == folded(srs_domain_)) return std::string(sender);

  bool failed = false;
  auto sign = [this, &failed](std::initializer_list<std::string_view> parts) {
    std::string hash = hash_of(keys_.front().get(), parts);
    failed |= hash.empty();
    return url_safe(hash.substr(0, kSrsHashLength));
  };
  std::string rewritten;
  if (has_tag(local, '1')) {
    // Another forwarder's SRS1: keep its first hop, re-sign with our secret.
    std::vector<std::string_view> f = split_fields(local.substr(5), 3);  // hash, first hop, rest
    if (f.size() == 3 && all_nonempty(f)) {
      rewritten = "SRS1=" + sign({f[1], f[2]}) + "=" + std::string(f[1]) + "=" + std::string(f[2]);
    }
  } else if (has_tag(local, '0')) {
    // The first hop's SRS0 stays opaque; its domain becomes the first hop.
    std::string_view rest = local.substr(4);  // keeps the separator, as Mail::SRS does
    rewritten = "SRS1=" + sign({domain, rest}) + "=" + std::string(domain) + "=" + std::string(rest);
  }
  if (rewritten.empty()) {  // an ordinary sender, or an SRS1 too malformed to keep
    std::string tt = timestamp(now);
    rewritten = "SRS0=" + sign({tt, domain, local}) + "=" + tt + "=" + std::string(domain) + "=" + std::string(local);
  }
  if (failed) return Status::invalid("OpenSSL could not compute the SRS hash");
  return rewritten + "@" + srs_domain_;
}

Result<std::string> Srs::reverse(std::string_view address, std::int64_t now) const {
  std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return Status::invalid("SRS address has no '@'");
  std::string_view local = address.substr(0, at);
  if (folded(address.substr(at + 1)) != folded(srs_domain_)) return Status::invalid("not an SRS address of " + srs_domain_);

  if (has_tag(local, '0')) {
    std::vector<std::string_view> f = split_fields(local.substr(5), 4);  // hash, TT, domain, local
    if (f.size() != 4 || !all_nonempty(f) || !plausible_hash(f[0])) {
      return Status::invalid("malformed SRS0 address (expected SRS0=hash=TT=domain=local)");
    }
    int then = parse_timestamp(f[1]);
    if (then < 0) return Status::invalid("malformed SRS0 timestamp '" + std::string(f[1]) + "'");
    if (!hash_matches(keys_, f[0], {f[1], f[2], f[3]})) return Status::invalid("SRS hash does not verify");
    int today = day_slot(now);
    if (today < then) today += kTimeSlots;  // the day counter wrapped
    if (today > then + kSrsMaxAgeDays) return Status::invalid("SRS address expired (older than 21 days)");
    return std::string(f[3]) + "@" + std::string(f[2]);
  }
  if (has_tag(local, '1')) {
    std::vector<std::string_view> f = split_fields(local.substr(5), 3);  // hash, first hop, rest
    if (f.size() != 3 || !all_nonempty(f) || !plausible_hash(f[0])) {
      return Status::invalid("malformed SRS1 address (expected SRS1=hash=domain=rest)");
    }
    if (!hash_matches(keys_, f[0], {f[1], f[2]})) return Status::invalid("SRS hash does not verify");
    return "SRS0" + std::string(f[2]) + "@" + std::string(f[1]);
  }
  return Status::invalid("not an SRS address");
}

}  // namespace emailroute
