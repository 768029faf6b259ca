// The relay's run-time knobs that do not live in the table: timeouts and
// connection limits (command-line options of `emailroute serve`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace emailroute {

struct RelayOptions {
  std::vector<std::string> listen;  // overrides the table's listen list when not empty
  bool reuse_port = false;          // SO_REUSEPORT, for --workers
  // RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the next command.
  std::int64_t command_timeout_ms = 300000;
  // Any wait for the destination (a reply, or room to write the message):
  // well inside the sender's own timeouts (5 min for RCPT, 10 min after the
  // message), so the sender hears our 4xx before it gives up.
  std::int64_t upstream_timeout_ms = 100000;
  // A destination that has not accepted the TCP connection by then is given
  // up for the next MX host, as Postfix's smtp_connect_timeout (30 s).
  std::int64_t connect_timeout_ms = 30000;
  // All the waits for one destination in one transaction, added up (from
  // opening the leg to the answer to the message; the sender's own time, such
  // as its sending the message, does not count). The sender stands behind
  // these waits: for a RCPT answer (RFC 5321 §4.5.3.2: 5 min), for the answer
  // after the final dot (10 min), and, when backpressure stops us reading,
  // for room to send its next data block (3 min, the shortest). 120 s keeps
  // the sum a minute inside that 3 min for our 451 to reach the sender, while
  // a healthy destination (a few seconds, even with content filtering) never
  // comes near it; it is more than one per-wait timeout, so a single slow
  // reply still ends with "timed out", not with this deadline.
  std::int64_t destination_deadline_ms = 120000;
  std::size_t max_connections = 1000;
  std::size_t max_connections_per_ip = 20;
  std::int64_t shutdown_grace_ms = 60000;  // SIGTERM: how long transactions in flight may take
};

}  // namespace emailroute
