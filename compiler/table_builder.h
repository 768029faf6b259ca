// Writes a RoutingModel as the binary table of runtime/table_format.md.
//
// The output depends only on the model: strings and routes are deduplicated
// in the order they are first needed, domains and keys are sorted, and the
// trie is laid out children first from the sorted keys. So the same config
// always gives the same bytes.
#pragma once

#include <string>

#include "compiler/routing_model.h"
#include "runtime/status.h"

namespace emailroute {

/// The table bytes for `model`; fails only when the table would not fit the
/// format's 32-bit offsets.
Result<std::string> build_table(const RoutingModel& model);

}  // namespace emailroute
