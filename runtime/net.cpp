// Socket helpers; see net.h.
#include "runtime/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace emailroute {

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  e.text = std::string(text);
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::invalid("bad address '" + e.text + "': expected [IPv6]:port");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Status::invalid("bad address '" + e.text + "': expected IP:port");
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  if (port_text.empty() || port_text.size() > 5) return Status::invalid("bad port in '" + e.text + "'");
  for (char c : port_text) {
    if (c < '0' || c > '9') return Status::invalid("bad port in '" + e.text + "'");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return Status::invalid("bad port in '" + e.text + "'");
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    e.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    e.length = sizeof(sockaddr_in6);
  } else {
    return Status::invalid("bad address '" + e.text + "': not a numeric IP address");
  }
  return e;
}

std::string address_ip(const sockaddr* address, socklen_t) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, buf, sizeof buf);
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string format_address(const sockaddr* address, socklen_t length) {
  if (address->sa_family == AF_INET) {
    return address_ip(address, length) + ":" +
           std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    std::string out = "[";  // appended, not "[" + ...: GCC 12 warns falsely (-Wrestrict, bug 105329)
    out += address_ip(address, length);
    out += "]:";
    out += std::to_string(ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port));
    return out;
  }
  return "?";
}

std::string local_address(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "?";
  return format_address(reinterpret_cast<sockaddr*>(&a), len);
}

Result<int> listen_on(const Endpoint& endpoint, bool reuse_port) {
  int fd = socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::io_error("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (endpoint.address.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.length) != 0 || listen(fd, 1024) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return Status::io_error("cannot listen on " + endpoint.text + ": " + why);
  }
  return fd;
}

Result<int> connect_to(const Endpoint& endpoint) {
  int fd = socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::io_error("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.length) != 0 &&
      errno != EINPROGRESS) {
    std::string why = std::strerror(errno);
    close(fd);
    return Status::io_error("cannot connect to " + endpoint.text + ": " + why);
  }
  return fd;
}

}  // namespace emailroute
