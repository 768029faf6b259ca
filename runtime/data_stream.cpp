// DATA framing in and out; the rules are listed in data_stream.h.
#include "runtime/data_stream.h"

#include <cstring>

#include <algorithm>

namespace emailroute {

std::string_view to_string(DataDefect defect) {
  switch (defect) {
    case DataDefect::kNone: return "none";
    case DataDefect::kBareLineFeed: return "bare LF in message";
    case DataDefect::kBareCarriageReturn: return "bare CR in message";
    case DataDefect::kNul: return "NUL in message";
    case DataDefect::kLineTooLong: return "message line longer than 65536 octets";
  }
  return "none";
}

void DataReader::mark(DataDefect defect) {
  if (defect_ == DataDefect::kNone) defect_ = defect;
}

void DataReader::add(char c) {
  if (line_length_ == 0) first_ = c;
  ++line_length_;
  ++size_;
  if (line_length_ > kMaxDataLine) mark(DataDefect::kLineTooLong);
  if (defective()) {
    line_.clear();  // nothing more is yielded; keep no memory for it
  } else {
    line_.push_back(c);
  }
}

// The common case, a whole clean line at the start of the input, is yielded
// as a view into the input, without copying it octet by octet into line_.
// Anything else (a line split between reads, a bare CR or LF, a NUL, an
// over-long line) is left to the octet-by-octet path below.
std::optional<DataReader::Step> DataReader::next_whole_line(std::string_view input) {
  // The first LF, preceded by a CR, with no CR or NUL before that CR
  // (memchr scans many octets at a time: this is most of the relay's work).
  std::size_t limit = std::min(input.size(), kMaxDataLine + 2);
  const char* begin = input.data();
  const char* lf = static_cast<const char*>(std::memchr(begin, '\n', limit));
  if (lf == nullptr || lf == begin || lf[-1] != '\r') return std::nullopt;
  std::size_t i = static_cast<std::size_t>(lf - begin) - 1;  // the CR: the line's length
  if (i > kMaxDataLine || std::memchr(begin, '\r', i) != nullptr || std::memchr(begin, '\0', i) != nullptr) {
    return std::nullopt;
  }
  bool stuffed = i > 0 && input[0] == '.';
  if (stuffed && i == 1) {  // <CRLF>.<CRLF>: the end
    ended_ = true;
    return Step{Step::Kind::kEnd, i + 2, {}};
  }
  size_ += i + 2 - (stuffed ? 1 : 0);  // the line and its CRLF, without a stuffing dot
  std::size_t from = stuffed ? 1 : 0;
  return Step{Step::Kind::kLine, i + 2, input.substr(from, i - from)};
}

DataReader::Step DataReader::next(std::string_view input) {
  if (ended_) return {Step::Kind::kEnd, 0, {}};
  if (line_done_) {
    line_.clear();
    line_length_ = 0;
    line_done_ = false;
  }
  if (line_length_ == 0 && !pending_cr_ && !defective()) {
    if (std::optional<Step> step = next_whole_line(input)) return *step;
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        bool stuffed = line_length_ > 0 && first_ == '.';
        if (stuffed && line_length_ == 1) {  // <CRLF>.<CRLF>: the end
          --size_;
          ended_ = true;
          return {Step::Kind::kEnd, i + 1, {}};
        }
        size_ += 2;  // the CRLF; a stuffing dot is not part of the message
        if (stuffed) --size_;
        if (!defective()) {
          line_done_ = true;
          return {Step::Kind::kLine, i + 1, std::string_view(line_).substr(stuffed ? 1 : 0)};
        }
        line_length_ = 0;
        continue;
      }
      mark(DataDefect::kBareCarriageReturn);
      add('\r');
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') mark(DataDefect::kBareLineFeed);
    if (c == '\0') mark(DataDefect::kNul);
    add(c);
  }
  return {Step::Kind::kNeedMore, input.size(), {}};
}

void append_data_line(std::string& out, std::string_view line) {
  if (!line.empty() && line.front() == '.') out.push_back('.');
  out.append(line);
  out.append("\r\n");
}

}  // namespace emailroute
