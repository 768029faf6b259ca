// Reads emailroute.toml into a Spec with toml++ (or, for plain files, the
// scanner of spec_scanner.h, which gives the same Spec). The reader checks the shape
// of the document (known keys, value types) and records where every value
// was written; the meaning of the values is validate.cpp's job.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/spec.h"

namespace emailroute {

/// Parses `source` (the text of the file named `path`). TOML syntax errors,
/// unknown keys (with a suggestion for near misses) and values of the wrong
/// type are added to `diagnostics`; what could be read is returned anyway,
/// so validation can report its own errors too. Nothing when the text is not
/// TOML at all.
std::optional<Spec> read_spec(std::string_view source, std::string_view path, Diagnostics& diagnostics);

/// The same with toml++ alone, never the fast scanner (spec_scanner.h): the
/// reference that the scanner is tested against.
std::optional<Spec> read_spec_toml(std::string_view source, std::string_view path, Diagnostics& diagnostics);

}  // namespace emailroute
