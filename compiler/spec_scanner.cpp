// The scanner walks the text once, byte by byte, with every read checked
// against the end. Each parsing step returns false to decline; nothing is
// reported. Positions follow toml++: lines from 1, columns from 1 counted in
// UTF-8 code points.
#include "compiler/spec_scanner.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_set>

namespace emailroute {
namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Control characters TOML 1.0 forbids in strings and comments (tab is allowed).
bool is_forbidden_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

// Length of the well-formed UTF-8 sequence at s[0..avail), or 0 when it is
// not one (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_length(const unsigned char* s, std::size_t avail) {
  unsigned char c = s[0];
  std::size_t len;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (len > avail) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Scanner {
 public:
  explicit Scanner(std::string_view source) : s_(source) {}

  std::optional<Spec> run() {
    if (s_.size() >= 3 && s_.substr(0, 3) == "\xEF\xBB\xBF") return std::nullopt;  // toml++ skips a BOM; rare
    while (true) {
      skip_blank();
      if (at_end()) break;
      char c = s_[p_];
      bool ok;
      if (c == '\n' || c == '\r' || c == '#') ok = end_of_line();
      else if (c == '[') ok = header() && end_of_line();
      else ok = key_value() && end_of_line();
      if (!ok) return std::nullopt;
    }
    if (!finish_domain()) return std::nullopt;
    return std::move(spec_);
  }

 private:
  enum class Section { kRoot, kRelay, kDomain, kAddresses };

  bool at_end() const { return p_ >= s_.size(); }
  bool peek(char c) const { return p_ < s_.size() && s_[p_] == c; }
  void skip_blank() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }

  SourcePos pos() const {
    std::uint32_t column = 1;
    for (std::size_t i = line_start_; i < p_; ++i) column += (static_cast<unsigned char>(s_[i]) & 0xC0) != 0x80;
    return {line_, column};
  }

  // A comment, from '#' to the end of the line (not included).
  bool comment() {
    ++p_;
    while (p_ < s_.size() && s_[p_] != '\n') {
      auto c = static_cast<unsigned char>(s_[p_]);
      if (c == '\r') return p_ + 1 < s_.size() && s_[p_ + 1] == '\n';
      if (is_forbidden_control(c)) return false;
      std::size_t n = utf8_length(reinterpret_cast<const unsigned char*>(s_.data()) + p_, s_.size() - p_);
      if (n == 0) return false;
      p_ += n;
    }
    return true;
  }

  // Consumes LF or CRLF. REQUIRES: at one of them.
  bool newline() {
    if (s_[p_] == '\r') {
      if (p_ + 1 >= s_.size() || s_[p_ + 1] != '\n') return false;
      ++p_;
    }
    ++p_;
    ++line_;
    line_start_ = p_;
    return true;
  }

  // Blanks, an optional comment, then a line end or the end of the file.
  bool end_of_line() {
    skip_blank();
    if (peek('#') && !comment()) return false;
    if (at_end()) return true;
    if (s_[p_] != '\n' && s_[p_] != '\r') return false;
    return newline();
  }

  // Inside a multi-line array: blanks, comments and line ends.
  bool skip_array_space(bool newlines_allowed) {
    while (true) {
      skip_blank();
      if (peek('#')) {
        if (!newlines_allowed || !comment()) return false;
      }
      if (at_end()) return false;
      if (s_[p_] != '\n' && s_[p_] != '\r') return true;
      if (!newlines_allowed || !newline()) return false;
    }
  }

  bool basic_string(std::string& out) {
    ++p_;
    if (p_ + 1 < s_.size() && s_[p_] == '"' && s_[p_ + 1] == '"') return false;  // multi-line
    while (true) {
      std::size_t run = p_;
      while (p_ < s_.size()) {
        auto c = static_cast<unsigned char>(s_[p_]);
        if (c == '"' || c == '\\' || c >= 0x80 || is_forbidden_control(c)) break;
        ++p_;
      }
      out.append(s_.data() + run, p_ - run);
      if (at_end()) return false;
      auto c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!escape(out)) return false;
      } else if (c >= 0x80) {
        std::size_t n = utf8_length(reinterpret_cast<const unsigned char*>(s_.data()) + p_, s_.size() - p_);
        if (n == 0) return false;
        out.append(s_.data() + p_, n);
        p_ += n;
      } else {
        return false;  // a control character
      }
    }
  }

  // The TOML 1.0 escapes only; \e and \x (TOML 1.1) are left to toml++.
  bool escape(std::string& out) {
    ++p_;
    if (at_end()) return false;
    char c = s_[p_++];
    switch (c) {
      case 'b': out += '\b'; return true;
      case 't': out += '\t'; return true;
      case 'n': out += '\n'; return true;
      case 'f': out += '\f'; return true;
      case 'r': out += '\r'; return true;
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case 'u':
      case 'U': {
        std::size_t digits = c == 'u' ? 4 : 8;
        if (s_.size() - p_ < digits) return false;
        std::uint32_t cp = 0;
        for (std::size_t i = 0; i < digits; ++i) {
          char h = s_[p_++];
          std::uint32_t v;
          if (h >= '0' && h <= '9') v = static_cast<std::uint32_t>(h - '0');
          else if (h >= 'a' && h <= 'f') v = static_cast<std::uint32_t>(h - 'a' + 10);
          else if (h >= 'A' && h <= 'F') v = static_cast<std::uint32_t>(h - 'A' + 10);
          else return false;
          cp = (cp << 4) | v;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        append_utf8(out, cp);
        return true;
      }
      default:
        return false;
    }
  }

  bool literal_string(std::string& out) {
    ++p_;
    if (p_ + 1 < s_.size() && s_[p_] == '\'' && s_[p_ + 1] == '\'') return false;  // multi-line
    std::size_t start = p_;
    while (p_ < s_.size() && s_[p_] != '\'') {
      auto c = static_cast<unsigned char>(s_[p_]);
      if (is_forbidden_control(c)) return false;
      std::size_t n = utf8_length(reinterpret_cast<const unsigned char*>(s_.data()) + p_, s_.size() - p_);
      if (n == 0) return false;
      p_ += n;
    }
    if (at_end()) return false;
    out.assign(s_.data() + start, p_ - start);
    ++p_;
    return true;
  }

  bool string(Located<std::string>& out) {
    out.pos = pos();
    out.value.clear();  // a default such as the separator "+" is replaced
    if (peek('"')) return basic_string(out.value);
    if (peek('\'')) return literal_string(out.value);
    return false;
  }

  // One key: bare, "basic" or 'literal'.
  bool key(Located<std::string>& out) {
    if (peek('"') || peek('\'')) return string(out);
    out.pos = pos();
    std::size_t start = p_;
    while (p_ < s_.size() && is_bare_key_char(s_[p_])) ++p_;
    if (p_ == start) return false;
    out.value.assign(s_.data() + start, p_ - start);
    return true;
  }

  // `key =` with a single (undotted) key; leaves p_ at the value.
  bool key_and_equals(Located<std::string>& k) {
    if (!key(k)) return false;
    skip_blank();
    if (!peek('=')) return false;  // a dotted key, or not a key/value pair
    ++p_;
    skip_blank();
    return true;
  }

  // A string or an array of strings; `pos` is where the value starts.
  bool string_list(std::vector<Located<std::string>>& out, SourcePos& at, bool newlines_allowed) {
    at = pos();
    if (!peek('[')) {
      out.emplace_back();
      return string(out.back());
    }
    if (p_ + 1 < s_.size() && s_[p_ + 1] == '[') return false;  // nested arrays
    ++p_;
    while (true) {
      if (!skip_array_space(newlines_allowed)) return false;
      if (peek(']')) break;
      out.emplace_back();
      if (!string(out.back()) || !skip_array_space(newlines_allowed)) return false;
      if (peek(']')) break;
      if (!peek(',')) return false;
      ++p_;
    }
    ++p_;
    return true;
  }

  // A decimal integer as TOML writes it without sign or underscores.
  bool integer(Located<std::int64_t>& out) {
    out.pos = pos();
    std::size_t start = p_;
    std::int64_t v = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      if (p_ - start >= 18) return false;
      v = v * 10 + (s_[p_++] - '0');
    }
    if (p_ == start || (s_[start] == '0' && p_ - start > 1)) return false;
    // Whatever follows must end the value: 1.5, 1e3, 1_000, 0x1 are declined.
    if (p_ < s_.size() && s_[p_] != ' ' && s_[p_] != '\t' && s_[p_] != '\n' && s_[p_] != '\r' && s_[p_] != '#')
      return false;
    out.value = v;
    return true;
  }

  bool boolean(Located<bool>& out) {
    out.pos = pos();
    std::string_view rest = s_.substr(p_);
    if (rest.substr(0, 4) == "true") out.value = true, p_ += 4;
    else if (rest.substr(0, 5) == "false") out.value = false, p_ += 5;
    else return false;
    return true;  // "trueish" fails at end_of_line
  }

  // A route: a string, an array of strings, or { action = ..., to = ..., message = ... }.
  // Accepted only when spec_reader.cpp's read_route would report nothing.
  bool route(SpecRoute& r) {
    if (!peek('{')) {
      SourcePos at;
      if (!string_list(r.destinations, at, true)) return false;
      r.pos = at;
      return true;
    }
    r.pos = pos();
    ++p_;
    std::optional<Located<std::string>> action;
    bool has_to = false;
    while (true) {
      skip_blank();
      Located<std::string> k;
      if (!key_and_equals(k)) return false;
      if (k.value == "action" && !action) {
        action.emplace();
        if (!string(*action)) return false;
      } else if (k.value == "to" && !has_to) {
        has_to = true;
        SourcePos at;
        if (!string_list(r.destinations, at, false)) return false;
      } else if (k.value == "message" && !r.message) {
        r.message.emplace();
        if (!string(*r.message)) return false;
      } else {
        return false;  // unknown or repeated
      }
      skip_blank();
      if (peek('}')) break;
      if (!peek(',')) return false;
      ++p_;
    }
    ++p_;
    if (!action) return false;
    if (action->value == "forward") r.action = SpecRoute::Action::kForward;
    else if (action->value == "drop") r.action = SpecRoute::Action::kDrop;
    else if (action->value == "reject") r.action = SpecRoute::Action::kReject;
    else return false;
    if (has_to != (r.action == SpecRoute::Action::kForward)) return false;
    return !r.message || r.action == SpecRoute::Action::kReject;
  }

  bool header() {
    ++p_;
    if (peek('[')) return false;  // [[array of tables]]
    Located<std::string> parts[3];
    std::size_t n = 0;
    while (true) {
      skip_blank();
      if (n == 3 || !key(parts[n++])) return false;
      skip_blank();
      if (peek(']')) break;
      if (!peek('.')) return false;
      ++p_;
    }
    ++p_;
    if (n == 1 && parts[0].value == "relay") {
      if (spec_.has_relay || !finish_domain()) return false;
      spec_.has_relay = true;
      spec_.relay.pos = parts[0].pos;
      section_ = Section::kRelay;
      return true;
    }
    if (n == 2 && parts[0].value == "domains") {
      if (!finish_domain() || !domain_names_.insert(parts[1].value).second) return false;
      spec_.domains.emplace_back();
      spec_.domains.back().name = std::move(parts[1]);
      section_ = Section::kDomain;
      return true;
    }
    if (n != 3 || parts[0].value != "domains" || parts[2].value != "addresses") return false;
    // The addresses of the domain just opened...
    if (section_ == Section::kDomain && spec_.domains.back().name.value == parts[1].value) {
      section_ = Section::kAddresses;
      return true;
    }
    // ...or of a domain named here first (toml++ then places the name here
    // too). Other orders are left to toml++.
    if (!finish_domain() || !domain_names_.insert(parts[1].value).second) return false;
    spec_.domains.emplace_back();
    spec_.domains.back().name = std::move(parts[1]);
    section_ = Section::kAddresses;
    return true;
  }

  // Ends the current domain: TOML forbids an address key written twice.
  bool finish_domain() {
    if (section_ == Section::kAddresses) {
      keys_.clear();
      for (const SpecAddress& a : spec_.domains.back().addresses) keys_.push_back(a.key.value);
      std::sort(keys_.begin(), keys_.end());
      if (std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end()) return false;
    }
    section_ = Section::kRoot;
    return true;
  }

  bool key_value() {
    Located<std::string> k;
    if (!key_and_equals(k)) return false;
    switch (section_) {
      case Section::kRoot: return false;
      case Section::kRelay: return relay_value(k.value);
      case Section::kDomain: return domain_value(k.value);
      case Section::kAddresses: {
        SpecAddress& a = spec_.domains.back().addresses.emplace_back();
        a.key = std::move(k);
        return route(a.route);
      }
    }
    return false;
  }

  bool domain_value(const std::string& k) {
    SpecDomain& d = spec_.domains.back();
    if (k == "catch_all" && !d.catch_all) return route(d.catch_all.emplace());
    if (k == "subaddress_separator" && !separator_seen_.count(spec_.domains.size())) {
      separator_seen_.insert(spec_.domains.size());
      return string(d.separators);
    }
    return false;  // unknown, repeated, or `addresses` as a key/value pair
  }

  template <class T>
  static bool first(std::optional<T>& field) {
    if (field) return false;  // a repeated key
    field.emplace();
    return true;
  }

  bool relay_value(const std::string& k) {
    SpecRelay& r = spec_.relay;
    for (auto [name, field] : {std::pair{"hostname", &r.hostname}, {"srs_domain", &r.srs_domain},
                               {"srs_secret_file", &r.srs_secret_file}, {"tls_certificate", &r.tls_certificate},
                               {"tls_key", &r.tls_key}, {"dns_resolver", &r.dns_resolver},
                               {"deliver_via", &r.deliver_via}, {"verified_file", &r.verified_file}}) {
      if (k == name) return first(*field) && string(**field);
    }
    if (k == "max_recipients") return first(r.max_recipients) && integer(*r.max_recipients);
    if (k == "upstream_port") return first(r.upstream_port) && integer(*r.upstream_port);
    if (k == "allow_private_destinations") return first(r.allow_private_destinations) && boolean(*r.allow_private_destinations);
    if (k == "require_verified") return first(r.require_verified) && boolean(*r.require_verified);
    if (k == "max_message_size") {
      if (!first(r.max_message_size)) return false;
      if (peek('"') || peek('\'')) return string(*r.max_message_size);
      Located<std::int64_t> i;
      if (!integer(i)) return false;
      *r.max_message_size = {std::to_string(i.value), i.pos};
      return true;
    }
    if (k == "listen") {
      if (!first(r.listen)) return false;
      return string_list(*r.listen, r.listen_pos, true);
    }
    return false;
  }

  std::string_view s_;
  std::size_t p_ = 0;
  std::uint32_t line_ = 1;
  std::size_t line_start_ = 0;
  Spec spec_;
  Section section_ = Section::kRoot;
  std::unordered_set<std::string> domain_names_;
  std::unordered_set<std::size_t> separator_seen_;  // domains (by count) whose separator was set
  std::vector<std::string_view> keys_;
};

}  // namespace

std::optional<Spec> scan_spec(std::string_view source) { return Scanner(source).run(); }

}  // namespace emailroute
