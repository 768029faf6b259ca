// The SMTP command parser of the inbound side: one command line in, one
// parsed command (or "need more bytes", or an error) out. Stateless and pure,
// in the picohttpparser style: it reads the caller's buffer, never keeps it,
// and the views it returns point into it.
//
// Choices (RFC 5321 section numbers in brackets):
// - A command line is at most 2048 octets including CRLF. §4.5.3.1.4 says 512,
//   but MAIL FROM with SIZE, BODY and SMTPUTF8 and a 256-octet path outgrows
//   it, and Postfix (line_length_limit = 2048) accepts as much. Longer lines
//   are an error that says how much to drop so the session can answer
//   `500 5.5.6` and resynchronise at the next LF.
// - A line must end in CRLF (§2.3.8). A bare LF is refused, as Postfix 3.9
//   does by default (smtpd_forbid_bare_newline = normal): lenient line ending
//   is what SMTP smuggling exploits. A NUL, a bare CR or any other control
//   character in a line is refused too.
// - Verbs are case-insensitive (§2.4); the verb and its argument are separated
//   by one SP; trailing spaces are ignored (some clients send "DATA ").
// - Paths need their angle brackets (§4.1.2); one SP after "FROM:"/"TO:" is
//   tolerated because many clients send it. `<>` is valid for MAIL only, and
//   `<Postmaster>` (any case, no domain) for RCPT only (§4.1.1.3).
// - Source routes `<@a,@b:user@d>` are accepted and the route ignored
//   (§4.1.1.3 and Appendix C: servers SHOULD ignore them).
// - A path is at most 256 octets (§4.5.3.1.3). The mailbox is checked with
//   parse_mailbox, except that a Dot-string local part longer than 64 octets
//   (§4.5.3.1.1) is accepted when each dot-separated atom is valid: SRS and
//   VERP addresses routinely exceed 64, and bounces to them must reach us.
// - MAIL parameters SIZE=digits (overflow-checked), BODY=7BIT|8BITMIME and
//   SMTPUTF8 (RFC 1870, 6152, 6531); RCPT takes none. Anything else is an
//   unknown parameter (`555 5.5.4`); a duplicate or a bad value is `501 5.5.4`.
//
// SECURITY: every byte comes from an unauthenticated network peer. The parser
// looks at most kMaxCommandLine bytes into a line (beyond that it only seeks
// the LF to resynchronise), trusts no length or count in the input, allocates only for the mailbox and error text it
// returns, and nothing it accepts can hold CR, LF, NUL or other controls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/address.h"

namespace emailroute {

inline constexpr std::size_t kMaxCommandLine = 2048;  // octets, CRLF included
inline constexpr std::size_t kMaxPathLength = 256;    // octets, angle brackets included

enum class Verb { kEhlo, kHelo, kMail, kRcpt, kData, kRset, kNoop, kQuit, kVrfy, kHelp, kStartTls, kUnknown };

/// The verb in upper case ("EHLO", ...; "unknown" for kUnknown).
std::string_view to_string(Verb verb);

enum class BodyType { kUnspecified, k7Bit, k8BitMime };

/// What went wrong, and so which reply the session sends.
enum class CommandError {
  kNone,
  kLineTooLong,       // 500 5.5.6
  kBareLineFeed,      // 500 5.5.2 (Postfix: "bare <LF> received")
  kBadCharacter,      // 500 5.5.2: NUL, bare CR or another control character
  kSyntax,            // 501 5.5.4: the argument does not fit the verb
  kBadAddress,        // 501 5.1.7 for MAIL, 501 5.1.3 for RCPT
  kBadParameter,      // 501 5.5.4: malformed, duplicated or bad value
  kUnknownParameter,  // 555 5.5.4
};

struct SmtpCommand {
  Verb verb = Verb::kUnknown;
  std::string_view verb_text;  // as sent (the whole word for an unknown verb)
  std::string_view argument;   // after the verb and its SP, trailing spaces removed
  // MAIL and RCPT only:
  bool null_path = false;   // MAIL FROM:<>
  bool postmaster = false;  // RCPT TO:<Postmaster>
  Mailbox mailbox;          // empty for <> and <Postmaster>
  std::optional<std::uint64_t> size;
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
};

struct ParseResult {
  enum class Kind { kCommand, kNeedMore, kError };
  Kind kind = Kind::kNeedMore;
  /// Octets of the buffer this result accounts for (the line and its CRLF);
  /// 0 for kNeedMore. Drop them before the next call.
  std::size_t consumed = 0;
  SmtpCommand command;  // kCommand; for kError, the verb when it was read
  CommandError error = CommandError::kNone;
  std::string reason;  // for kError, a short human-readable why: printable ASCII, at most 200 octets
  /// kLineTooLong only: false when the LF has not arrived yet; the session
  /// then drops input with skip_line() until it reports the LF, and answers.
  bool line_ended = true;
};

/// Parses the first command line of `buffer`.
ParseResult parse_command(std::string_view buffer);

struct SkipResult {
  std::size_t consumed;  // octets to drop
  bool line_ended;       // the LF was among them
};

/// Drops the rest of an over-long line: everything through the first LF.
SkipResult skip_line(std::string_view buffer);

}  // namespace emailroute
