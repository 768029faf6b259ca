// The Sender Rewriting Scheme, compatible with libsrs2, postsrsd and Perl's
// Mail::SRS (its default, "Guarded" flavour).
//
// A forwarded message leaves with a sender in our own domain, so SPF checks at
// the destination pass; a bounce sent to that address comes back to us and is
// reversed to the original sender.
//
//   SRS0=HHHH=TT=orig-domain=orig-local@srs_domain        first hop
//   SRS1=HHHH=first-hop-domain==HHHH=TT=orig...@srs_domain sender was already
//                                                          SRS0 or SRS1
//
// HHHH is the first 4 characters of base64(HMAC-SHA1(secret, fields)), the
// fields being the lowercased parts after the hash, concatenated (for SRS0:
// TT, orig-domain, orig-local; for SRS1: first-hop-domain, the rest). TT is
// the day number (unix time / 86400) mod 1024 as two base32 characters
// (A-Z 2-7); an SRS0 address is valid for 21 days after that day.
// We emit the URL-safe base64 alphabet ('-' and '_' for '+' and '/': some
// receivers refuse '/' or '+' in a local part) and accept both on reversal;
// hashes and timestamps are compared case-insensitively, because mailers may
// smash the case of a local part. Mail::SRS only accepts the standard alphabet,
// so one of our hashes that contains '-' or '_' does not reverse there (a bounce
// always comes back to us, so this costs nothing in practice).
//
// SECURITY: reverse() reads addresses from the network (RCPT TO of bounces).
// It trusts nothing in them: every field is checked, the hash is compared in
// constant time against every secret, and an address only reverses if its
// hash was made with one of our secrets and (SRS0) its day is recent. SRS1
// addresses carry no timestamp (as in every implementation): they reverse to
// the SRS0 address of the first hop, which checks its own age.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/status.h"

namespace emailroute {

inline constexpr int kSrsMaxAgeDays = 21;
inline constexpr std::size_t kSrsHashLength = 4;

/// True when `local` starts with SRS0 or SRS1 (any case) and a separator
/// ('=', '+' or '-'): the address is meant to be reversed, not routed.
bool is_srs_local_part(std::string_view local);

class Srs {
 public:
  /// Rewrites into `srs_domain`. The first secret signs; every secret
  /// verifies (so a secret can be rotated without breaking bounces in flight).
  /// Fails when there is no secret, a secret is empty, or the domain is bad.
  static Result<Srs> create(std::string srs_domain, std::vector<std::string> secrets);

  /// The SRS0/SRS1 form of `sender` at unix time `now`.
  /// `<>` (empty) stays empty; a sender already in srs_domain is returned
  /// unchanged (as libsrs2 and Mail::SRS do). SRS0/SRS1 senders become SRS1.
  /// REQUIRES: `sender` is a mailbox that the SMTP parser accepted.
  /// Fails for a sender without '@' or with a quoted local part (which
  /// cannot be embedded in another local part).
  Result<std::string> forward(std::string_view sender, std::int64_t now) const;

  /// The address a bounce to `address` goes to: the original sender for
  /// SRS0, the first hop's SRS0 address for SRS1. Fails, saying why, when
  /// the address is not in srs_domain, malformed, its hash does not verify,
  /// or (SRS0) it is more than 21 days old or from the future.
  Result<std::string> reverse(std::string_view address, std::int64_t now) const;

 private:
  // An HMAC-SHA1 context keyed with one secret, made once: each hash starts
  // from a copy of it, without looking the algorithm up again.
  using KeyedHmac = std::shared_ptr<EVP_MAC_CTX>;

  Srs(std::string srs_domain, std::vector<KeyedHmac> keys) : srs_domain_(std::move(srs_domain)), keys_(std::move(keys)) {}

  std::string srs_domain_;
  std::vector<KeyedHmac> keys_;  // the first signs, all verify
};

}  // namespace emailroute
