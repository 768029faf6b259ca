// Turns a Spec into a RoutingModel, or says everything that is wrong with it.
//
// The checks, each reported at the value it concerns: addresses (RFC 5321
// syntax, 64-octet local parts, 253-octet domains), keys (a '*' only at the
// end), actions and reject texts, sizes, listen and host:port values, the
// required hostname and srs_domain, domains defined twice in different case,
// destinations inside this config (resolved here; loops name their cycle) and,
// while require_verified is true, destinations missing from verified_file.
#pragma once

#include <optional>
#include <string>

#include "compiler/diagnostics.h"
#include "compiler/routing_model.h"
#include "compiler/spec.h"

namespace emailroute {

/// Limits the compiler enforces (documented in emailroute.toml(5)).
inline constexpr std::uint64_t kMinMessageSize = 64 * 1024;          // RFC 5321 §4.5.3.1.7
inline constexpr std::uint64_t kMaxMessageSize = 4ULL << 30;         // 4 GiB
inline constexpr std::int64_t kMinRecipients = 100;                  // RFC 5321 §4.5.3.1.8
inline constexpr std::int64_t kMaxRecipients = 10000;
inline constexpr std::size_t kMaxDestinations = 100;                 // per route
inline constexpr std::size_t kMaxRejectMessage = 200;                // octets
inline constexpr std::size_t kMaxListen = 64;

/// `config_dir` is the folder relative paths in the spec are resolved from.
/// Returns the model when the spec is valid; otherwise `diagnostics` holds
/// every error found.
std::optional<RoutingModel> validate_spec(const Spec& spec, const std::string& config_dir, Diagnostics& diagnostics);

/// Parses "25MiB", "10MB", "65536" (bytes). KB/MB/GB are powers of 1000,
/// KiB/MiB/GiB powers of 1024.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// "192.0.2.1:25" or "[2001:db8::1]:25" (port 1-65535).
bool is_ip_port(std::string_view text);

}  // namespace emailroute
