// See ldns_server.h.
#include <netinet/in.h>

#include "runtime/resolver.h"
// Last: ldns's common.h may define `false` and `true` as macros, which breaks
// C++ headers included after it.
#include "cli/ldns_server.h"

namespace emailroute::cli {

Result<ldns_resolver*> resolver_for_server(std::string_view server) {
  Result<Endpoint> e = parse_dns_server(server);
  if (!e.ok()) return e.status();
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(&e->address);
  ldns_rdf* address = nullptr;
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    address = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &in->sin_addr);
    port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    address = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, &in6->sin6_addr);
    port = ntohs(in6->sin6_port);
  }
  ldns_resolver* res = ldns_resolver_new();
  if (address == nullptr || res == nullptr || ldns_resolver_push_nameserver(res, address) != LDNS_STATUS_OK) {
    if (address) ldns_rdf_deep_free(address);
    if (res) ldns_resolver_deep_free(res);
    return Status::io_error("out of memory");
  }
  ldns_rdf_deep_free(address);
  ldns_resolver_set_port(res, port);
  return res;
}

}  // namespace emailroute::cli
