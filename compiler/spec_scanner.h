// A fast reader for the plain subset of TOML that emailroute.toml files are
// written in, so that a spec with a million addresses does not pay for a
// toml++ document tree (about 3 s and 300 MiB at that size).
//
// It is only a shortcut. It returns a Spec only when the file is made of
// exactly the constructs it knows and toml++'s reader (spec_reader.cpp)
// would read it without a single diagnostic; then the Spec is the same,
// field by field and position by position. Anything else, valid or not
// (multi-line strings, dotted keys, a BOM, a duplicate key, an unknown key,
// a wrong type, a lone CR, invalid UTF-8...), makes it decline, and the
// caller reads the file with toml++, which words every error.
//
// Accepted: `[relay]`, `[domains."x"]` and `[domains."x".addresses]`
// headers (the last right after its domain's), bare and quoted keys, basic
// and literal one-line strings, string arrays (over several lines in a
// table), `{ action = ..., to = ..., message = ... }` inline tables, decimal
// integers and booleans in [relay], comments, blank lines, LF or CRLF.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/spec.h"

namespace emailroute {

/// The Spec `source` holds, or nothing when the scanner declines (see above).
/// Never reports errors: declining is the answer to anything unusual.
std::optional<Spec> scan_spec(std::string_view source);

}  // namespace emailroute
