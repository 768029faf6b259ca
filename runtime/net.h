// Socket addresses and the few socket calls the relay makes, wrapped so
// their errors become Status values.
//
// SECURITY: parse_endpoint reads addresses from the config and the command
// line; it accepts only numeric IPv4 or bracketed IPv6 literals with a port,
// so nothing here ever asks DNS.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/status.h"

namespace emailroute {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // as "IP:port" or "[IPv6]:port"
};

/// Parses "1.2.3.4:25" or "[::1]:25".
Result<Endpoint> parse_endpoint(std::string_view text);

/// "IP:port" of a socket address.
std::string format_address(const sockaddr* address, socklen_t length);
/// The IP part alone (for per-client limits and the Received: header).
std::string address_ip(const sockaddr* address, socklen_t length);

/// A non-blocking listening socket; SO_REUSEPORT when `reuse_port`.
Result<int> listen_on(const Endpoint& endpoint, bool reuse_port);
/// Starts a non-blocking connect; the socket becomes writable when done.
Result<int> connect_to(const Endpoint& endpoint);
/// The local address a socket is bound to.
std::string local_address(int fd);

}  // namespace emailroute
