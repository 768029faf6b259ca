// The DATA phase of SMTP, both ways: DataReader splits what the sender sends
// after 354 into message lines and finds the end; append_data_line frames
// lines again for the destination.
//
// Choices (RFC 5321 section numbers in brackets):
// - Only <CRLF>.<CRLF> ends the message (§4.1.1.4). A line ends only at CRLF;
//   a bare LF, a bare CR or a NUL is kept inside the line and marks the
//   message defective (§2.3.8, §4.1.1.4), so "\n.\n" or "\r\n.\r" can never
//   end it: that is what SMTP smuggling relies on. The reader goes on to the
//   real terminator, so the session stays in step, and then refuses the
//   message with `550 5.5.2`.
// - A leading dot is removed from every line (§4.5.2); the end line is "."
//   exactly.
// - Lines longer than 998 octets (§4.5.3.1.6) are accepted, as Postfix
//   does: we frame every line again, so a long line reaches the destination
//   unchanged and the destination decides (splitting it would break DKIM).
//   Beyond kMaxDataLine octets the line is not kept and the message is
//   refused (`500 5.5.6`), which bounds memory at one line per connection.
// - message_size() counts the message as RFC 1870 does: every line with its
//   CRLF, without stuffing dots and without the final ".", for SIZE (552).
//
// SECURITY: every byte comes from an unauthenticated sender. Nothing from a
// defective message is handed out after the defect is seen (no line holding
// a bare CR, LF or NUL is ever yielded), and the reader keeps at most one
// line of kMaxDataLine octets, however the input is split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emailroute {

inline constexpr std::size_t kMaxDataLine = 64 * 1024;  // octets as received, CRLF excluded

/// Why a message is refused; the first one seen is kept.
enum class DataDefect { kNone, kBareLineFeed, kBareCarriageReturn, kNul, kLineTooLong };

std::string_view to_string(DataDefect defect);

class DataReader {
 public:
  struct Step {
    enum class Kind { kNeedMore, kLine, kEnd };
    Kind kind;
    std::size_t consumed;   // octets of the input used; drop them before the next call
    std::string_view line;  // kLine: without CRLF, unstuffed; valid until the next call
                            // and while `input` is (it may point into either)
  };

  /// Reads `input` until a line is complete (kLine), the message ended (kEnd:
  /// the bytes after the terminator are not consumed, they are the next
  /// command), or the input is used up (kNeedMore). After a defect, lines are
  /// no longer yielded, but reading goes on to the end. After kEnd, returns
  /// kEnd consuming nothing until reset().
  Step next(std::string_view input);

  DataDefect defect() const { return defect_; }
  bool defective() const { return defect_ != DataDefect::kNone; }

  /// The size of the message so far as RFC 1870 counts it.
  std::uint64_t message_size() const { return size_; }

  /// Ready for the next message.
  void reset() { *this = DataReader(); }

 private:
  std::optional<Step> next_whole_line(std::string_view input);
  void add(char c);
  void mark(DataDefect defect);

  std::string line_;              // the current line, while it is kept
  std::size_t line_length_ = 0;   // octets of the current line, kept or not
  char first_ = 0;                // its first octet
  bool line_done_ = false;        // line_ was yielded: start afresh on the next call
  bool pending_cr_ = false;       // the last octet read was a CR
  bool ended_ = false;
  DataDefect defect_ = DataDefect::kNone;
  std::uint64_t size_ = 0;
};

/// Appends `line` framed for DATA: a leading dot doubled, CRLF after.
/// REQUIRES: `line` holds no CR or LF (true of every line DataReader yields).
void append_data_line(std::string& out, std::string_view line);

/// What follows the last line to end the message.
inline constexpr std::string_view kDataEnd = ".\r\n";

}  // namespace emailroute
