#include "compiler/diagnostics.h"

#include <algorithm>

namespace emailroute {
namespace {

std::string_view line_of(std::string_view source, std::uint32_t line) {
  std::size_t start = 0;
  for (std::uint32_t n = 1; n < line; ++n) {
    std::size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  std::size_t end = source.find('\n', start);
  std::string_view text = source.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

// The source line as shown: control characters (but tabs) become '?', so a
// config file cannot send escape sequences to the terminal.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) c = '?';
  }
  return out;
}

// One space per character before the column (tabs kept, so the caret lines
// up however the terminal sets them); columns count UTF-8 code points.
std::string caret_padding(std::string_view text, std::uint32_t column) {
  std::string out;
  std::uint32_t seen = 1;
  for (std::size_t i = 0; i < text.size() && seen < column; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    out += text[i] == '\t' ? '\t' : ' ';
    ++seen;
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string squeezed(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_' && c != '-') out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  }
  return out;
}

}  // namespace

std::string Diagnostics::render(std::string_view file, std::string_view source) const {
  std::vector<Diagnostic> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
  });
  std::string out;
  for (const Diagnostic& d : sorted) {
    out += std::string(file) + ":" + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) +
           ": error: " + d.message + "\n";
    std::string_view text = line_of(source, d.pos.line);
    if (d.pos.line == 0 || (text.empty() && d.pos.column > 1)) continue;
    std::string number = std::to_string(d.pos.line);
    out += " " + number + " | " + printable(text) + "\n";
    out += " " + std::string(number.size(), ' ') + " | " + caret_padding(text, d.pos.column) + "^\n";
  }
  return out;
}

std::string quote(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string closest_match(std::string_view word, const std::vector<std::string_view>& known) {
  std::string best;
  std::size_t best_distance = 3;
  for (std::string_view k : known) {
    if (squeezed(word) == squeezed(k)) return std::string(k);
    std::size_t d = edit_distance(word, k);
    if (d < best_distance && d < k.size()) best_distance = d, best = std::string(k);
  }
  return best;
}

}  // namespace emailroute
