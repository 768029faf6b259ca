// The replies the relay gives for routing decisions, shared by `serve` and by
// `emailroute route`, which shows what the relay would answer.
#pragma once

#include <string>
#include <string_view>

namespace emailroute::replies {

inline constexpr std::string_view kUnknownRecipient = "550 5.1.1 No such recipient here";
inline constexpr std::string_view kRejectedRecipient = "550 5.7.1 Recipient address rejected";
inline constexpr std::string_view kRelayDenied = "554 5.7.1 Relay access denied";

/// The reply for a reject route: its configured text, or the default.
inline std::string rejected(std::string_view configured_message) {
  if (configured_message.empty()) return std::string(kRejectedRecipient);
  return "550 5.7.1 " + std::string(configured_message);
}

}  // namespace emailroute::replies
