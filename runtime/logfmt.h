// One logfmt line (key=value pairs) for stderr. Values are quoted when they
// hold a space, '=' or '"', and stripped of control characters, so a value
// from the network can never start a new log line or forge a key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace emailroute {

class LogLine {
 public:
  explicit LogLine(std::string_view event);
  LogLine& add(std::string_view key, std::string_view value);
  LogLine& add(std::string_view key, std::int64_t value);
  /// Writes the line, with a newline, to stderr in one write; while
  /// batching, with the others held since the last flush_log().
  void emit() const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

/// Batching holds emitted lines until flush_log() (at most 64 KiB): the
/// relay flushes after every batch of events, so a busy relay writes its log
/// once per batch rather than once per transaction, lines in order and at
/// most one loop iteration late.
void set_log_batching(bool on);
void flush_log();

}  // namespace emailroute
