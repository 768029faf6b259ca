// SMTP command lines into SmtpCommand; the rules are listed in smtp_parser.h.
#include "runtime/smtp_parser.h"

#include <algorithm>
#include <array>

namespace emailroute {
namespace {

struct VerbName {
  Verb verb;
  std::string_view name;
};

constexpr std::array<VerbName, 11> kVerbs = {{
    {Verb::kEhlo, "EHLO"}, {Verb::kHelo, "HELO"}, {Verb::kMail, "MAIL"}, {Verb::kRcpt, "RCPT"},
    {Verb::kData, "DATA"}, {Verb::kRset, "RSET"}, {Verb::kNoop, "NOOP"}, {Verb::kQuit, "QUIT"},
    {Verb::kVrfy, "VRFY"}, {Verb::kHelp, "HELP"}, {Verb::kStartTls, "STARTTLS"},
}};

bool equals_folded(std::string_view text, std::string_view lower_or_upper) {
  if (text.size() != lower_or_upper.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (fold(text[i]) != fold(lower_or_upper[i])) return false;
  }
  return true;
}

bool starts_with_folded(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_folded(text.substr(0, prefix.size()), prefix);
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The reason goes back to the sender in a reply line, and some quote what
// the sender wrote: only printable ASCII may go out (RFC 5321 §4.2), so any
// other octet becomes '?', and a long quote is cut.
constexpr std::size_t kMaxReasonLength = 200;

ParseResult error(ParseResult r, CommandError error, std::string reason) {
  if (reason.size() > kMaxReasonLength) reason.replace(kMaxReasonLength - 3, std::string::npos, "...");
  for (char& c : reason) {
    if (c < 0x20 || c > 0x7E) c = '?';
  }
  r.kind = ParseResult::Kind::kError;
  r.error = error;
  r.reason = std::move(reason);
  return r;
}

// parse_mailbox, but a long Dot-string local part passes atom by atom (see
// the header: SRS and VERP addresses exceed the 64 octets of §4.5.3.1.1).
Result<Mailbox> parse_path_mailbox(std::string_view text) {
  Result<Mailbox> box = parse_mailbox(text);
  std::size_t at = text.rfind('@');
  if (box.ok() || at == std::string_view::npos || at <= kMaxLocalPartLength || text.front() == '"') return box;
  std::string_view local = text.substr(0, at);
  for (std::size_t start = 0; start <= local.size();) {
    std::size_t dot = std::min(local.find('.', start), local.size());
    std::string_view atom = local.substr(start, dot - start);
    if (atom.empty()) return Status::invalid("empty atom in local part");
    if (Status s = check_dot_string(atom); !s.ok()) return s;
    start = dot + 1;
  }
  std::string placeholder_local = "x";  // checks the domain part alone
  placeholder_local.append(text.substr(at));
  Result<Mailbox> domain_only = parse_mailbox(placeholder_local);
  if (domain_only.ok()) domain_only->local = std::string(local);
  return domain_only;
}

// `<@a,@b:` — each hop must be '@' and a domain.
bool valid_source_route(std::string_view route) {
  for (std::size_t start = 0; start <= route.size();) {
    std::size_t comma = std::min(route.find(',', start), route.size());
    std::string_view hop = route.substr(start, comma - start);
    if (hop.size() < 2 || hop.front() != '@' || !check_domain(hop.substr(1)).ok()) return false;
    start = comma + 1;
  }
  return true;
}

// Index of the '>' closing the path that opens at text[0], skipping quoted
// strings (a quoted local part may hold '>'); npos when there is none.
std::size_t closing_bracket(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == '>' && !quoted) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The path at the start of `text` into `command`; returns what follows it.
Result<std::string_view> parse_path(std::string_view text, SmtpCommand& command) {
  if (text.empty() || text.front() != '<') return Status::invalid("missing '<' before the address");
  std::size_t close = closing_bracket(text);
  if (close == std::string_view::npos) return Status::invalid("missing '>' after the address");
  if (close + 1 > kMaxPathLength) return Status::invalid("address longer than 256 octets");
  std::string_view inner = text.substr(1, close - 1);
  std::string_view rest = text.substr(close + 1);
  bool is_mail = command.verb == Verb::kMail;
  if (inner.empty()) {
    if (!is_mail) return Status::invalid("<> is only valid as a sender");
    command.null_path = true;
    return rest;
  }
  if (!is_mail && equals_folded(inner, "postmaster")) {
    command.postmaster = true;
    return rest;
  }
  if (inner.front() == '@') {
    std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos || !valid_source_route(inner.substr(0, colon))) {
      return Status::invalid("malformed source route");
    }
    inner.remove_prefix(colon + 1);
  }
  Result<Mailbox> box = parse_path_mailbox(inner);
  if (!box.ok()) return box.status();
  command.mailbox = std::move(*box);
  return rest;
}

// keyword["=" value] per §4.1.2 esmtp-param; value octets 33-126 but '=',
// or UTF-8 (RFC 6531).
bool valid_parameter(std::string_view keyword, std::string_view value, bool has_value) {
  if (keyword.empty() || keyword.front() == '-') return false;
  for (char c : keyword) {
    if (!is_alnum(c) && c != '-') return false;
  }
  if (!has_value) return true;
  if (value.empty()) return false;
  for (unsigned char c : value) {
    if (c < 33 || c == '=' || c == 127) return false;
  }
  return true;
}

std::optional<std::uint64_t> parse_size(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

ParseResult parse_parameters(std::string_view text, ParseResult r) {
  SmtpCommand& c = r.command;
  while (!text.empty()) {
    std::size_t space = std::min(text.find(' '), text.size());
    std::string_view param = text.substr(0, space);
    text.remove_prefix(std::min(space + 1, text.size()));
    if (param.empty()) continue;  // several spaces between parameters
    std::size_t eq = param.find('=');
    bool has_value = eq != std::string_view::npos;
    std::string_view keyword = param.substr(0, eq);
    std::string_view value = has_value ? param.substr(eq + 1) : std::string_view();
    if (!valid_parameter(keyword, value, has_value)) {
      return error(r, CommandError::kBadParameter, "malformed parameter '" + std::string(param) + "'");
    }
    bool mail = c.verb == Verb::kMail;
    if (mail && equals_folded(keyword, "SIZE")) {
      if (c.size) return error(r, CommandError::kBadParameter, "duplicate SIZE");
      c.size = parse_size(value);
      if (!c.size) return error(r, CommandError::kBadParameter, "SIZE is not a number that fits 64 bits");
    } else if (mail && equals_folded(keyword, "BODY")) {
      if (c.body != BodyType::kUnspecified) return error(r, CommandError::kBadParameter, "duplicate BODY");
      if (equals_folded(value, "7BIT")) {
        c.body = BodyType::k7Bit;
      } else if (equals_folded(value, "8BITMIME")) {
        c.body = BodyType::k8BitMime;
      } else {
        return error(r, CommandError::kBadParameter, "BODY must be 7BIT or 8BITMIME");
      }
    } else if (mail && equals_folded(keyword, "SMTPUTF8")) {
      if (has_value) return error(r, CommandError::kBadParameter, "SMTPUTF8 takes no value");
      if (c.smtputf8) return error(r, CommandError::kBadParameter, "duplicate SMTPUTF8");
      c.smtputf8 = true;
    } else {
      return error(r, CommandError::kUnknownParameter, "unknown parameter '" + std::string(keyword) + "'");
    }
  }
  r.kind = ParseResult::Kind::kCommand;
  return r;
}

// MAIL FROM:<path> [params] and RCPT TO:<path> [params].
ParseResult parse_transaction(ParseResult r) {
  std::string_view prefix = r.command.verb == Verb::kMail ? "FROM:" : "TO:";
  std::string_view text = r.command.argument;
  if (!starts_with_folded(text, prefix)) {
    return error(r, CommandError::kSyntax, r.command.verb == Verb::kMail ? "expected MAIL FROM:<address>"
                                                                         : "expected RCPT TO:<address>");
  }
  text.remove_prefix(prefix.size());
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  Result<std::string_view> rest = parse_path(text, r.command);
  if (!rest.ok()) return error(r, CommandError::kBadAddress, rest.status().message());
  if (!rest->empty() && rest->front() != ' ') return error(r, CommandError::kBadAddress, "text after the address");
  return parse_parameters(*rest, std::move(r));
}

ParseResult parse_line(std::string_view line, ParseResult r) {
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  std::size_t space = std::min(line.find(' '), line.size());
  SmtpCommand& c = r.command;
  c.verb_text = line.substr(0, space);
  c.argument = line.substr(std::min(space + 1, line.size()));
  for (const VerbName& v : kVerbs) {
    if (equals_folded(c.verb_text, v.name)) c.verb = v.verb;
  }
  bool has_argument = !c.argument.empty();
  switch (c.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
    case Verb::kVrfy:
      if (!has_argument) return error(r, CommandError::kSyntax, std::string(to_string(c.verb)) + " needs an argument");
      break;
    case Verb::kMail:
    case Verb::kRcpt:
      return parse_transaction(std::move(r));
    case Verb::kData:
    case Verb::kRset:
    case Verb::kQuit:
    case Verb::kStartTls:
      if (has_argument) return error(r, CommandError::kSyntax, std::string(to_string(c.verb)) + " takes no argument");
      break;
    case Verb::kNoop:
    case Verb::kHelp:
    case Verb::kUnknown:
      break;
  }
  r.kind = ParseResult::Kind::kCommand;
  return r;
}

}  // namespace

std::string_view to_string(Verb verb) {
  switch (verb) {
    case Verb::kEhlo: return "EHLO";
    case Verb::kHelo: return "HELO";
    case Verb::kMail: return "MAIL";
    case Verb::kRcpt: return "RCPT";
    case Verb::kData: return "DATA";
    case Verb::kRset: return "RSET";
    case Verb::kNoop: return "NOOP";
    case Verb::kQuit: return "QUIT";
    case Verb::kVrfy: return "VRFY";
    case Verb::kHelp: return "HELP";
    case Verb::kStartTls: return "STARTTLS";
    case Verb::kUnknown: return "unknown";
  }
  return "unknown";
}

ParseResult parse_command(std::string_view buffer) {
  ParseResult r;
  std::string_view window = buffer.substr(0, kMaxCommandLine);
  std::size_t lf = window.find('\n');
  if (lf == std::string_view::npos) {
    if (buffer.size() < kMaxCommandLine) return r;  // kNeedMore
    SkipResult skip = skip_line(buffer);
    r.consumed = skip.consumed;
    r.line_ended = skip.line_ended;
    return error(r, CommandError::kLineTooLong, "line longer than 2048 octets");
  }
  r.consumed = lf + 1;
  std::string_view line = buffer.substr(0, lf);
  if (line.find('\0') != std::string_view::npos) return error(r, CommandError::kBadCharacter, "NUL in command");
  if (line.empty() || line.back() != '\r') return error(r, CommandError::kBareLineFeed, "bare LF received");
  line.remove_suffix(1);
  for (unsigned char ch : line) {
    if (ch == '\r') return error(r, CommandError::kBadCharacter, "bare CR in command");
    if (ch < 0x20 || ch == 0x7F) return error(r, CommandError::kBadCharacter, "control character in command");
  }
  return parse_line(line, std::move(r));
}

SkipResult skip_line(std::string_view buffer) {
  std::size_t lf = buffer.find('\n');
  if (lf == std::string_view::npos) return {buffer.size(), false};
  return {lf + 1, true};
}

}  // namespace emailroute
