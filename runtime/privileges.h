// Dropping root after the relay has bound its ports and read its files.
//
// SECURITY: any failure is fatal to the caller (the relay must never run on
// with privileges it meant to give up); after the drop, no-new-privs is set
// and regaining root is checked to fail.
#pragma once

#include <string>

#include "runtime/status.h"

namespace emailroute {

/// Switches to `user`'s uid and gid (supplementary groups: only its own gid).
Status drop_privileges(const std::string& user);

}  // namespace emailroute
