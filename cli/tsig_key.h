// The TSIG key (RFC 8945) `dns apply` signs its updates with, read from the
// file the DNS server's own tools write. Three formats are accepted, chosen
// by what the file looks like:
//
//   BIND (tsig-keygen, ddns-confgen; also read by NSD/Knot imports):
//       key "emailroute" { algorithm hmac-sha256; secret "base64=="; };
//   Knot (keymgr -t NAME ALGORITHM, or a knot.conf `key:` section):
//       key:
//         - id: emailroute
//           algorithm: hmac-sha256
//           secret: base64==
//   one line, as nsupdate -y / knsupdate -y take it:
//       hmac-sha256:emailroute:base64==      (algorithm optional: hmac-sha256)
//
// Algorithms: hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5 (ldns 1.8.3
// cannot sign with hmac-sha224 or hmac-sha384).
// The file must hold exactly one key. Comments (#, //, /* */ in BIND files)
// are ignored. SECURITY: the secret is never printed, not even in errors.
#pragma once

#include <string>

#include "runtime/status.h"

namespace emailroute::cli {

struct TsigKey {
  std::string name;       // absolute, lower case, trailing dot ("emailroute.")
  std::string algorithm;  // as ldns names it: "hmac-sha256.", "hmac-md5.sig-alg.reg.int."
  std::string secret;     // base64, checked
};

/// Files larger than this are not key files.
inline constexpr std::size_t kMaxTsigKeyFile = 64 * 1024;

/// Parses the text of a key file; `origin` names it in errors.
Result<TsigKey> parse_tsig_key(const std::string& text, const std::string& origin);

/// Reads and parses the key file at `path`.
Result<TsigKey> read_tsig_key(const std::string& path);

}  // namespace emailroute::cli
