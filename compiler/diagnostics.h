// Errors that point at the source, the way compilers print them:
//
//   emailroute.toml:12:9: error: unknown key "catchall" (did you mean "catch_all"?)
//      12 | catchall = "owner@example.net"
//         | ^
//
// Every error is collected, so one run shows them all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/spec.h"

namespace emailroute {

struct Diagnostic {
  SourcePos pos;
  std::string message;
};

class Diagnostics {
 public:
  void error(SourcePos pos, std::string message) { errors_.push_back({pos, std::move(message)}); }
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }

  /// Every error as `FILE:LINE:COL: error: MESSAGE`, then the source line
  /// and a caret under the column, sorted by position.
  std::string render(std::string_view file, std::string_view source) const;

 private:
  std::vector<Diagnostic> errors_;
};

/// `text` in double quotes for an error message, control characters shown
/// as \xNN so that nothing from the input can disturb the terminal.
std::string quote(std::string_view text);

/// The known word closest to `word` when it is a plausible typo of it
/// (edit distance at most 2, or equal once '_' and '-' are ignored); empty
/// when none is.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& known);

}  // namespace emailroute
