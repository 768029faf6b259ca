// logfmt lines; see logfmt.h.
#include "runtime/logfmt.h"

#include <unistd.h>

#include <ctime>

namespace emailroute {

LogLine::LogLine(std::string_view event) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  text_ = "ts=";
  text_ += stamp;
  add("event", event);
}

LogLine& LogLine::add(std::string_view key, std::string_view value) {
  bool quote = value.empty();
  bool plain = true;  // nothing to strip or escape: appended whole
  for (unsigned char c : value) {
    quote |= c == ' ' || c == '=' || c == '"';
    plain &= c >= 0x20 && c != 0x7F && c != '"' && c != '\\';
  }
  text_ += ' ';
  text_ += key;
  text_ += '=';
  if (quote) text_ += '"';
  if (plain) {
    text_ += value;
  } else {
    for (unsigned char c : value) {
      if (c < 0x20 || c == 0x7F) continue;
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += static_cast<char>(c);
    }
  }
  if (quote) text_ += '"';
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::int64_t value) { return add(key, std::to_string(value)); }

namespace {

// Lines held while batching; bounded, so a burst never grows it far.
constexpr std::size_t kMaxHeld = 64 * 1024;
bool batching = false;
std::string held;

void write_all(std::string_view text) {
  ssize_t ignored = write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;  // nowhere to report a failing stderr
}

}  // namespace

void LogLine::emit() const {
  held += text_;
  held += '\n';
  if (!batching || held.size() >= kMaxHeld) flush_log();
}

void set_log_batching(bool on) {
  flush_log();
  batching = on;
}

void flush_log() {
  if (held.empty()) return;
  write_all(held);
  held.clear();
}

}  // namespace emailroute
