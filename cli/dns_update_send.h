// The server `dns apply` updates: the primary named by --server. It answers
// which zone a name is in (its SOA), which exact records a delete must name,
// and receives the RFC 2136 updates, signed with TSIG (RFC 8945) over TCP.
// SECURITY: everything the server answers is untrusted; a reply counts as
// accepted only when its rcode is NOERROR and its TSIG verifies with our key.
// Names are looked up with RD clear: the primary answers from its own zones.
#pragma once

#include <memory>
#include <string>

#include "cli/tsig_key.h"
#include "compiler/dns_update.h"
#include "runtime/status.h"

struct ldns_struct_resolver;

namespace emailroute::cli {

/// What the server answered to one update.
struct UpdateAnswer {
  bool accepted = false;  // NOERROR with a verified TSIG
  std::string message;    // "NOERROR", or why it was refused, for the user
};

class UpdateServer {
 public:
  /// `server` is "IP", "IP:PORT" or "[IPv6]:PORT" (port 53 by default).
  static Result<std::unique_ptr<UpdateServer>> create(const std::string& server, const TsigKey& key);
  ~UpdateServer();
  UpdateServer(const UpdateServer&) = delete;
  UpdateServer& operator=(const UpdateServer&) = delete;

  /// The zone `name` (absolute) is in, from the SOA the server answers with.
  /// An apex-less ZoneInfo when the server does not serve it; an error when it did not answer.
  Result<ZoneInfo> find_zone(const std::string& name);

  /// Replaces each line of `update.remove` with the record exactly as the
  /// server holds it (a TXT record split into other strings than check-dns
  /// prints still matches), so each delete names a record that exists.
  /// Fails, naming the line, when the server does not hold it.
  Status resolve_removes(ZoneUpdate& update);

  /// Sends `update`, signed, and reads the answer. An error when no answer came.
  Result<UpdateAnswer> send(const ZoneUpdate& update);

 private:
  UpdateServer(ldns_struct_resolver* query, ldns_struct_resolver* update) : query_(query), update_(update) {}
  ldns_struct_resolver* query_;   // unsigned: queries need no key, and a wrong key must not hide the zone
  ldns_struct_resolver* update_;  // with the key: ldns_send verifies each reply's TSIG with it
};

}  // namespace emailroute::cli
