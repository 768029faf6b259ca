// What the relay does with one RCPT: forward it (to which destinations),
// drop it, or answer it at once. Pure: a snapshot and a command in, a
// decision out, so every routing answer is unit-tested without sockets.
//
// SECURITY: this is where "never an open relay" holds. Destinations come only
// from the compiled table or from a verified SRS bounce address, never from
// the recipient itself: a recipient in a foreign domain (whatever '%', '!',
// quotes or source route it carries) is 554 5.7.1; an SRS address whose hash
// or age does not verify is 550 5.7.1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/routing_snapshot.h"
#include "runtime/smtp_parser.h"

namespace emailroute {

struct RcptDecision {
  enum class Kind { kAnswer, kDrop, kForward };
  Kind kind = Kind::kAnswer;
  std::string recipient;                  // local@domain as given (or postmaster)
  std::string reply;                      // kAnswer: the refusal
  std::vector<std::string> destinations;  // kForward
  std::string note;                       // for the log: why, when it is not obvious
};

/// Decides `rcpt` (a parsed RCPT command) at unix time `now`.
RcptDecision decide_rcpt(const RoutingSnapshot& routing, const SmtpCommand& rcpt, std::int64_t now);

}  // namespace emailroute
