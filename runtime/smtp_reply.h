// SMTP replies as the destination sends them (RFC 5321 §4.2): a parser for
// one reply, single- or multi-line, and the mapping of a destination's answer
// to what the relay tells its sender.
//
// SECURITY: replies come from a destination server, which we do not trust
// more than the sender: a reply is at most kMaxReplyBytes over at most
// kMaxReplyLines lines, and any text passed on to the sender is sanitised
// (controls removed, length bounded), so a destination cannot inject lines or
// commands into our session with the sender.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace emailroute {

inline constexpr std::size_t kMaxReplyBytes = 16 * 1024;
inline constexpr std::size_t kMaxReplyLines = 64;
inline constexpr std::size_t kMaxRelayedText = 300;

struct Reply {
  int code = 0;                    // 0: no reply (connection failed, timeout); see `lines`
  std::vector<std::string> lines;  // the text of each line after "NNN-" / "NNN "
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code == 0 || (code >= 400 && code < 500); }
  /// The lines joined by spaces, sanitised and bounded.
  std::string text() const;
};

struct ReplyParse {
  enum class Kind { kNeedMore, kReply, kError };
  Kind kind = Kind::kNeedMore;
  std::size_t consumed = 0;  // octets of the reply, CRLFs included
  Reply reply;
  std::string error;  // kError: why (malformed, too long, mixed codes)
};

/// Parses the first complete reply in `buffer`.
ReplyParse parse_reply(std::string_view buffer);

/// `text` with control and non-ASCII bytes removed and at most `limit` octets.
std::string sanitized(std::string_view text, std::size_t limit = kMaxRelayedText);

/// What the sender hears when a destination answered `r` to a RCPT: the same
/// code and text when it is a real reply, 451 4.4.1 when there was none.
std::string relay_rcpt_reply(const Reply& r);

/// What the sender hears when the destination answered `r` at the end of the
/// message (or refused DATA): 250 on success; 451 4.4.x for a 4xx or no reply;
/// 550/554 with the destination's enhanced code and text for a 5xx.
std::string relay_data_reply(const Reply& r, std::string_view id);

/// A synthetic failure: no reply from the destination, with why.
Reply no_reply(std::string_view why);

}  // namespace emailroute
