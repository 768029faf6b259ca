// Mailbox syntax of RFC 5321 §4.1.2 with the UTF-8 extension of RFC 6531, and
// the case folding emailroute uses to compare addresses.
//
// SECURITY: every byte of a mailbox comes from the network or a config file.
// The parser accepts nothing that could smuggle SMTP syntax: no CR, LF, NUL,
// controls, unbalanced quotes, or malformed UTF-8 ever pass.
#pragma once

#include <string>
#include <string_view>

#include "runtime/status.h"

namespace emailroute {

inline constexpr std::size_t kMaxLocalPartLength = 64;   // RFC 5321 §4.5.3.1.1
inline constexpr std::size_t kMaxDomainLength = 253;     // longest name DNS can carry
inline constexpr std::size_t kMaxLabelLength = 63;

struct Mailbox {
  std::string local;    // unquoted: `"a.b"` becomes `a.b`; quoted specials kept as they are
  std::string domain;   // as written (not folded)
  bool quoted = false;  // the local part was a Quoted-string that is not also a Dot-string
};

/// Parses `local@domain` (no angle brackets). Accepts Dot-string and
/// Quoted-string local parts, domains and address literals.
Result<Mailbox> parse_mailbox(std::string_view text);

/// A domain name as RFC 5321 `Domain` (letters, digits, hyphens, dots; UTF-8
/// U-labels allowed), at most 253 octets, labels of at most 63.
Status check_domain(std::string_view domain);

/// A Dot-string local part (atext and dots, UTF-8 allowed), at most 64 octets.
Status check_dot_string(std::string_view local);

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view text);

/// ASCII case folding, the comparison emailroute uses for domains and local
/// parts. Non-ASCII bytes are compared as they are.
inline char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
std::string folded(std::string_view text);

}  // namespace emailroute
