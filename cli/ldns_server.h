// An ldns resolver that asks one given server: what check-dns --resolver and
// dns apply --server share. The caller sets the options (timeouts, TCP,
// recursion) and frees it with ldns_resolver_deep_free.
#pragma once

#include <string_view>

#include "runtime/status.h"
// After the C++ headers: ldns's common.h may define `false` and `true` as macros.
#include <ldns/ldns.h>

namespace emailroute::cli {

/// `server` is "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address (port 53
/// by default), parsed as the relay's dns_resolver is.
Result<ldns_resolver*> resolver_for_server(std::string_view server);

}  // namespace emailroute::cli
