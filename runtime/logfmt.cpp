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
  for (char c : value) quote |= c == ' ' || c == '=' || c == '"';
  text_ += ' ';
  text_ += key;
  text_ += '=';
  if (quote) text_ += '"';
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7F) continue;
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += static_cast<char>(c);
  }
  if (quote) text_ += '"';
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::int64_t value) { return add(key, std::to_string(value)); }

void LogLine::emit() const {
  std::string line = text_ + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;  // nowhere to report a failing stderr
}

}  // namespace emailroute
