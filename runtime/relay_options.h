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
  std::size_t max_connections = 1000;
  std::size_t max_connections_per_ip = 20;
  std::int64_t shutdown_grace_ms = 60000;  // SIGTERM: how long transactions in flight may take
};

}  // namespace emailroute
