#include "cli/tsig_key.h"

#include <algorithm>
#include <fstream>
#include <vector>

namespace emailroute::cli {
namespace {

struct RawKey {
  std::string name, algorithm, secret;
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") + 1 - b);
}

std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && (s[0] == '"' || s[0] == '\'') && s.back() == s[0]) return s.substr(1, s.size() - 2);
  return s;
}

// Strict base64 (RFC 4648 section 4): the alphabet, a multiple of 4, '=' only at the end.
bool is_base64(const std::string& s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      ++pad;
    } else if (!alpha || pad > 0) {
      return false;
    }
  }
  return pad <= 2;
}

// A key name is a domain name: labels of 1 to 63 letters, digits, '-' or '_'.
bool is_key_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label == 0 && !(i + 1 == name.size() && i > 0)) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

// BIND's grammar, as far as a key clause needs: words, "strings", { } ;
std::vector<std::string> bind_tokens(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      std::size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 2;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '{' || c == '}' || c == ';') {
      out.emplace_back(1, c);
      ++i;
    } else if (c == '"') {
      std::size_t end = text.find('"', i + 1);
      if (end == std::string::npos) end = text.size();
      out.push_back("\"" + text.substr(i + 1, end - i - 1));  // a leading quote marks a string
      i = end + 1;
    } else {
      std::size_t end = text.find_first_of(" \t\r\n{};\"#", i);
      if (end == std::string::npos) end = text.size();
      out.push_back(text.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

std::string token_value(const std::string& t) { return !t.empty() && t[0] == '"' ? t.substr(1) : t; }

Result<std::vector<RawKey>> parse_bind(const std::string& text, const std::string& origin) {
  std::vector<std::string> t = bind_tokens(text);
  std::vector<RawKey> keys;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != "key") continue;
    if (i + 2 >= t.size() || t[i + 2] != "{") return Status::invalid(origin + ": expected key \"NAME\" { ... };");
    RawKey k{token_value(t[i + 1]), "", ""};
    std::size_t j = i + 3;
    for (; j < t.size() && t[j] != "}"; ++j) {
      std::string word = lower(t[j]);
      if ((word == "algorithm" || word == "secret") && j + 2 < t.size() && t[j + 2] == ";") {
        (word == "algorithm" ? k.algorithm : k.secret) = token_value(t[j + 1]);
        j += 2;
      } else if (t[j] != ";") {
        return Status::invalid(origin + ": key " + k.name + ": expected algorithm NAME; or secret \"BASE64\";");
      }
    }
    if (j >= t.size()) return Status::invalid(origin + ": key " + k.name + ": no closing }");
    keys.push_back(k);
    i = j;
  }
  return keys;
}

// Knot's YAML subset: a top-level "key:" section of "- id:" items.
Result<std::vector<RawKey>> parse_knot(const std::string& text, const std::string& origin) {
  std::vector<RawKey> keys;
  bool in_keys = false;
  std::size_t start = 0, number = 0;
  while (start <= text.size()) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);  // base64 has no '#'
    if (trim(line).empty()) continue;
    if (line[0] != ' ' && line[0] != '\t' && line[0] != '-') {
      in_keys = trim(line) == "key:";
      continue;
    }
    if (!in_keys) continue;
    std::string item = trim(line);
    if (item.rfind("- ", 0) == 0) {
      keys.emplace_back();
      item = trim(item.substr(2));
    }
    std::size_t colon = item.find(':');
    if (colon == std::string::npos || keys.empty()) {
      return Status::invalid(origin + ":" + std::to_string(number) + ": expected \"- id: NAME\", \"algorithm: ALG\" or \"secret: BASE64\"");
    }
    std::string field = trim(item.substr(0, colon)), value = unquote(item.substr(colon + 1));
    if (field == "id") keys.back().name = value;
    if (field == "algorithm") keys.back().algorithm = value;
    if (field == "secret") keys.back().secret = value;
  }
  return keys;
}

// "[algorithm:]name:secret" on one line.
Result<std::vector<RawKey>> parse_line(const std::string& text, const std::string& origin) {
  std::string line = trim(text);
  if (line.find('\n') != std::string::npos || line.empty()) {
    return Status::invalid(origin + ": not a key file: expected a BIND key clause, a Knot key: section, or ALGORITHM:NAME:SECRET");
  }
  std::size_t last = line.rfind(':');
  if (last == std::string::npos) return Status::invalid(origin + ": expected ALGORITHM:NAME:SECRET");
  std::string head = line.substr(0, last);
  std::size_t first = head.find(':');
  RawKey k{first == std::string::npos ? head : head.substr(first + 1),
           first == std::string::npos ? "hmac-sha256" : head.substr(0, first), line.substr(last + 1)};
  return std::vector<RawKey>{k};
}

// The ldns spelling of an algorithm name, or "" when ldns cannot sign with it.
std::string ldns_algorithm(std::string alg) {
  alg = lower(trim(alg));
  if (!alg.empty() && alg.back() == '.') alg.pop_back();
  if (alg == "hmac-md5" || alg == "hmac-md5.sig-alg.reg.int") return "hmac-md5.sig-alg.reg.int.";
  // Not hmac-sha224 or hmac-sha384: ldns 1.8.3 (Debian 12) fails to sign with
  // them ("Unknown cryptographic algorithm"), so they are refused up front.
  for (const char* a : {"hmac-sha1", "hmac-sha256", "hmac-sha512"}) {
    if (alg == a) return alg + ".";
  }
  return "";
}

}  // namespace

Result<TsigKey> parse_tsig_key(const std::string& text, const std::string& origin) {
  bool bind = text.find('{') != std::string::npos;
  bool knot = !bind && (text.rfind("key:", 0) == 0 || text.find("\nkey:") != std::string::npos);
  Result<std::vector<RawKey>> keys = bind ? parse_bind(text, origin) : knot ? parse_knot(text, origin) : parse_line(text, origin);
  if (!keys.ok()) return keys.status();
  if (keys->size() != 1) {
    return Status::invalid(origin + ": holds " + std::to_string(keys->size()) + " keys; keep exactly one, the key the server allows to update");
  }
  const RawKey& k = keys->front();
  if (!is_key_name(k.name)) return Status::invalid(origin + ": the key has no usable name (letters, digits, '-', '_' and dots)");
  TsigKey out;
  out.name = lower(k.name);
  if (out.name.back() != '.') out.name += '.';
  out.algorithm = ldns_algorithm(k.algorithm);
  if (out.algorithm.empty()) {
    return Status::invalid(origin + ": key " + k.name + ": algorithm \"" + k.algorithm +
                           "\" is not one of hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5 (the ones ldns signs with)");
  }
  if (!is_base64(k.secret)) return Status::invalid(origin + ": key " + k.name + ": the secret is missing or not base64");
  out.secret = k.secret;
  return out;
}

Result<TsigKey> read_tsig_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot read the TSIG key file");
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTsigKeyFile) return Status::invalid(path + ": too large for a TSIG key file");
  }
  if (in.bad()) return Status::io_error(path + ": read error");
  return parse_tsig_key(text, path);
}

}  // namespace emailroute::cli
