// Routing one recipient; see rcpt_decision.h.
#include "runtime/rcpt_decision.h"

#include "runtime/replies.h"

namespace emailroute {
namespace {

RcptDecision answer(RcptDecision d, std::string reply, std::string note = {}) {
  d.kind = RcptDecision::Kind::kAnswer;
  d.reply = std::move(reply);
  d.note = std::move(note);
  return d;
}

RcptDecision from_resolution(RcptDecision d, const Resolution& r) {
  switch (r.kind) {
    case MatchKind::kNotOurDomain: return answer(std::move(d), std::string(replies::kRelayDenied), "not our domain");
    case MatchKind::kUnknown: return answer(std::move(d), std::string(replies::kUnknownRecipient), "unknown");
    case MatchKind::kExact:
    case MatchKind::kSubaddress:
    case MatchKind::kWildcard:
    case MatchKind::kCatchAll: break;
  }
  switch (r.route.action()) {
    case RouteAction::kReject: return answer(std::move(d), replies::rejected(r.route.reject_message()), "rejected");
    case RouteAction::kDrop: d.kind = RcptDecision::Kind::kDrop; return d;
    case RouteAction::kForward: break;
  }
  d.kind = RcptDecision::Kind::kForward;
  for (std::size_t i = 0; i < r.route.destination_count(); ++i) d.destinations.emplace_back(r.route.destination(i));
  if (d.destinations.empty()) return answer(std::move(d), std::string(replies::kUnknownRecipient), "no destination");
  return d;
}

// <Postmaster> has no domain (RFC 5321 §4.1.1.3): we route postmaster at our
// own hostname's domain, then at the SRS domain.
RcptDecision postmaster(RcptDecision d, const RoutingSnapshot& routing) {
  d.recipient = "postmaster";
  std::string_view host = routing.hostname;
  for (std::string_view domain : {host, host.substr(std::min(host.find('.') + 1, host.size())),
                                  std::string_view(routing.srs_domain)}) {
    if (domain.empty()) continue;
    Resolution r = routing.table.resolve("postmaster", domain);
    if (r.kind != MatchKind::kNotOurDomain && r.kind != MatchKind::kUnknown) return from_resolution(std::move(d), r);
  }
  return answer(std::move(d), std::string(replies::kUnknownRecipient), "postmaster not routed");
}

}  // namespace

RcptDecision decide_rcpt(const RoutingSnapshot& routing, const SmtpCommand& rcpt, std::int64_t now) {
  RcptDecision d;
  if (rcpt.postmaster) return postmaster(std::move(d), routing);
  const Mailbox& box = rcpt.mailbox;
  d.recipient = box.local + "@" + box.domain;
  if (!box.quoted && folded(box.domain) == routing.srs_domain && is_srs_local_part(box.local)) {
    Result<std::string> original = routing.srs->reverse(d.recipient, now);
    if (!original.ok()) {
      return answer(std::move(d), "550 5.7.1 Invalid or expired SRS bounce address", original.status().message());
    }
    if (!parse_mailbox(*original).ok()) return answer(std::move(d), "550 5.7.1 Invalid SRS bounce address", "bad original");
    d.kind = RcptDecision::Kind::kForward;
    d.destinations.push_back(std::move(*original));
    d.note = "SRS bounce";
    return d;
  }
  return from_resolution(std::move(d), routing.table.resolve(box.local, box.domain));
}

}  // namespace emailroute
