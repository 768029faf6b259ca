// Just enough JSON writing for the CLI's --format json output.
#pragma once

#include <string>
#include <string_view>

namespace emailroute::cli {

/// `text` as a JSON string literal, quotes included.
inline std::string json_string(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace emailroute::cli
