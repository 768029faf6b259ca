// Destination verification: while `require_verified` is true, every
// destination outside the config's own domains must be listed in
// `verified_file` (one address per line; blank lines and lines starting with
// '#' are ignored; compared case-insensitively). A missing file means nothing
// is verified yet.
#pragma once

#include <string>

#include "compiler/diagnostics.h"
#include "compiler/routing_model.h"

namespace emailroute {

/// Reports every destination of `model` that `verified_file` does not list.
void check_verified(const RoutingModel& model, const std::string& verified_file, Diagnostics& diagnostics);

}  // namespace emailroute
