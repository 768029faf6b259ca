// Destination replies: parsing and mapping; see smtp_reply.h.
#include "runtime/smtp_reply.h"

namespace emailroute {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "5.7.1 rest" → "5.7.1"; empty when the text does not start with one.
std::string_view enhanced_code(std::string_view text) {
  std::size_t n = 0;
  int dots = 0;
  while (n < text.size() && n < 16 && (is_digit(text[n]) || text[n] == '.')) {
    if (text[n] == '.') ++dots;
    ++n;
  }
  if (dots != 2 || n < 5 || (n < text.size() && text[n] != ' ')) return {};
  return text.substr(0, n);
}

}  // namespace

std::string sanitized(std::string_view text, std::size_t limit) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= limit) break;
    if (c >= 0x20 && c < 0x7F) out.push_back(static_cast<char>(c));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Reply::text() const {
  std::string joined;
  for (const std::string& line : lines) {
    if (!joined.empty()) joined.push_back(' ');
    joined += line;
  }
  return sanitized(joined);
}

ReplyParse parse_reply(std::string_view buffer) {
  ReplyParse r;
  std::size_t pos = 0;
  int code = 0;
  while (true) {
    std::size_t lf = buffer.find('\n', pos);
    if (lf == std::string_view::npos) {
      if (buffer.size() > kMaxReplyBytes) r.kind = ReplyParse::Kind::kError, r.error = "reply too long";
      return r;
    }
    if (lf + 1 > kMaxReplyBytes || r.reply.lines.size() >= kMaxReplyLines) {
      r.kind = ReplyParse::Kind::kError;
      r.error = "reply too long";
      return r;
    }
    std::string_view line = buffer.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        line[0] < '2' || line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      r.kind = ReplyParse::Kind::kError;
      r.error = "malformed reply";
      return r;
    }
    int this_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code != 0 && this_code != code) {
      r.kind = ReplyParse::Kind::kError;
      r.error = "reply lines with different codes";
      return r;
    }
    code = this_code;
    r.reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    pos = lf + 1;
    if (line.size() == 3 || line[3] == ' ') break;
  }
  r.kind = ReplyParse::Kind::kReply;
  r.consumed = pos;
  r.reply.code = code;
  return r;
}

Reply no_reply(std::string_view why) {
  Reply r;
  r.lines.emplace_back(why);
  return r;
}

std::string relay_rcpt_reply(const Reply& r) {
  if (r.code == 0) return "451 4.4.1 Destination not reachable now: " + r.text();
  // A 421 closes the destination's connection, not the sender's: to the
  // sender it is a plain deferral of this recipient.
  int code = r.code == 421 ? 451 : r.code;
  std::string text = r.text();
  if (enhanced_code(text).empty()) {
    text = (r.positive() ? "2.1.5 " : r.transient() ? "4.0.0 " : "5.0.0 ") + text;
  } else if (text.front() != std::to_string(r.code / 100).front()) {
    text = text.substr(enhanced_code(text).size());  // an enhanced code that contradicts the reply
    text = (r.positive() ? "2.1.5" : r.transient() ? "4.0.0" : "5.0.0") + text;
  }
  return std::to_string(code) + " " + text;
}

std::string relay_data_reply(const Reply& r, std::string_view id) {
  if (r.positive()) return "250 2.0.0 Ok: forwarded as " + std::string(id);
  if (r.code == 0) return "451 4.4.2 Destination connection failed: " + r.text();
  std::string text = r.text();
  if (r.transient()) return "451 4.4.0 Destination deferred the message: " + std::to_string(r.code) + " " + text;
  std::string_view enhanced = enhanced_code(text);
  std::string code = r.code == 554 ? "554" : "550";
  if (enhanced.empty() || enhanced.front() != '5') {
    return code + " 5.0.0 Destination refused the message: " + text;
  }
  return code + " " + text;
}

}  // namespace emailroute
