#include "runtime/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace emailroute {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 atext, plus every byte of a UTF-8 sequence (RFC 6531); the
// sequences themselves are checked by is_valid_utf8.
// strchr finds the terminating NUL too, so NUL is excluded before asking it.
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c >= 0x80 || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// RFC 5321 qtextSMTP (printable ASCII but `"` and `\`) and UTF-8.
bool is_qtext(unsigned char c) { return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80; }

Status check_address_literal(std::string_view literal) {
  // literal includes the brackets.
  std::string inner(literal.substr(1, literal.size() - 2));
  unsigned char buf[16];
  if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0) {
    if (inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1) return Status();
    return Status::invalid("bad IPv6 address literal");
  }
  if (inet_pton(AF_INET, inner.c_str(), buf) == 1) return Status();
  return Status::invalid("bad address literal (expected [IPv4] or [IPv6:addr])");
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    if (len > text.size() - i) return false;
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string folded(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = fold(c);
  return out;
}

Status check_dot_string(std::string_view local) {
  if (local.empty()) return Status::invalid("empty local part");
  if (local.size() > kMaxLocalPartLength) {
    return Status::invalid("local part is " + std::to_string(local.size()) + " octets, the limit is 64");
  }
  bool previous_dot = true;  // a leading dot is as bad as two in a row
  for (unsigned char c : local) {
    if (c == '.') {
      if (previous_dot) return Status::invalid("empty atom in local part (leading or doubled dot)");
      previous_dot = true;
    } else if (is_atext(c)) {
      previous_dot = false;
    } else {
      return Status::invalid(c < 0x20 || c == 0x7F ? "control character in local part"
                                                   : std::string("character '") + char(c) + "' not allowed in local part");
    }
  }
  if (previous_dot) return Status::invalid("local part ends with a dot");
  if (!is_valid_utf8(local)) return Status::invalid("malformed UTF-8 in local part");
  return Status();
}

Status check_domain(std::string_view domain) {
  if (domain.empty()) return Status::invalid("empty domain");
  if (domain.size() > kMaxDomainLength) {
    return Status::invalid("domain is " + std::to_string(domain.size()) + " octets, the limit is 253");
  }
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i < domain.size() && domain[i] != '.') {
      unsigned char c = static_cast<unsigned char>(domain[i]);
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c < 0x80) {
        return Status::invalid(c < 0x20 || c == 0x7F ? "control character in domain"
                                                     : std::string("character '") + char(c) + "' not allowed in domain");
      }
      continue;
    }
    std::string_view label = domain.substr(label_start, i - label_start);
    if (label.empty()) return Status::invalid("empty label in domain");
    if (label.size() > kMaxLabelLength) return Status::invalid("domain label longer than 63 octets");
    if (label.front() == '-' || label.back() == '-') return Status::invalid("domain label starts or ends with '-'");
    label_start = i + 1;
  }
  if (!is_valid_utf8(domain)) return Status::invalid("malformed UTF-8 in domain");
  return Status();
}

Result<Mailbox> parse_mailbox(std::string_view text) {
  std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) return Status::invalid("missing '@'");
  std::string_view local = text.substr(0, at);
  std::string_view domain = text.substr(at + 1);
  Mailbox box;

  if (!local.empty() && local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return Status::invalid("unterminated quoted local part");
    std::string unquoted;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {
        if (i + 2 >= local.size()) return Status::invalid("backslash at end of quoted local part");
        unsigned char next = static_cast<unsigned char>(local[++i]);
        if (next < 32 || next > 126) return Status::invalid("bad quoted pair in local part");
        unquoted += char(next);
      } else if (is_qtext(c)) {
        unquoted += char(c);
      } else {
        return Status::invalid(c == '"' ? "stray '\"' in quoted local part" : "control character in local part");
      }
    }
    if (unquoted.size() > kMaxLocalPartLength) return Status::invalid("local part longer than 64 octets");
    if (!is_valid_utf8(unquoted)) return Status::invalid("malformed UTF-8 in local part");
    // RFC 5321 §4.1.2: a quoted string that could be a Dot-string means the same mailbox.
    box.quoted = !check_dot_string(unquoted).ok();
    box.local = std::move(unquoted);
  } else {
    if (Status s = check_dot_string(local); !s.ok()) return s;
    box.local = std::string(local);
  }

  if (!domain.empty() && domain.front() == '[') {
    if (domain.back() != ']') return Status::invalid("unterminated address literal");
    if (Status s = check_address_literal(domain); !s.ok()) return s;
  } else if (Status s = check_domain(domain); !s.ok()) {
    return s;
  }
  box.domain = std::string(domain);
  return box;
}

}  // namespace emailroute
