// A sender's transaction, from MAIL to the answer to its message: routing
// each RCPT, forwarding it to the destination, streaming the message and
// passing the destination's answers back. The rules are in inbound.h.
//
// SECURITY: recipients are routed only by decide_rcpt (no open relay); the
// destination's replies reach the sender only through relay_rcpt_reply and
// relay_data_reply, which sanitise them.
#include <algorithm>
#include <ctime>

#include "runtime/inbound.h"
#include "runtime/logfmt.h"
#include "runtime/received_header.h"

namespace emailroute {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

int severity(std::string_view reply) { return reply.empty() ? 0 : reply[0] - '0'; }

// The servers a leg may use, in a form that compares equal whatever the
// order (equal MX preferences are shuffled on every lookup).
std::string servers_key(const std::vector<Endpoint>& servers) {
  std::vector<std::string> names;
  for (const Endpoint& e : servers) names.push_back(e.text);
  std::sort(names.begin(), names.end());
  return joined(names);
}

}  // namespace

std::string Inbound::on_mail(const SmtpCommand& mail) {
  if (tx_) end_transaction("superseded");
  Transaction tx;
  tx.serial = ++serial_;
  tx.routing = core_.routing();
  tx.id = core_.next_id();
  if (!mail.null_path) tx.sender = mail.mailbox.local + "@" + mail.mailbox.domain;
  tx.sender_quoted = mail.mailbox.quoted;
  tx.declared_size = mail.size;
  tx.body_8bit = mail.body == BodyType::k8BitMime;
  tx.smtputf8 = mail.smtputf8;
  tx.started_ms = EventLoop::now_ms();
  tx_ = std::move(tx);
  return {};
}

void Inbound::on_rcpt(const SmtpCommand& rcpt) {
  if (!tx_) return session_.answer_rcpt("451 4.3.0 Error: no transaction", false);
  RcptDecision d = decide_rcpt(*tx_->routing, rcpt, std::time(nullptr));
  switch (d.kind) {
    case RcptDecision::Kind::kAnswer:
      if (d.reply.rfind("550 5.7.1 Invalid", 0) == 0) {
        LogLine("srs-refused").add("id", tx_->id).add("rcpt", d.recipient).add("why", d.note).emit();
      }
      return refuse_rcpt(d.recipient, d.reply);
    case RcptDecision::Kind::kDrop:
      tx_->recipients.push_back(d.recipient);
      return session_.answer_rcpt("250 2.1.5 Ok", true);
    case RcptDecision::Kind::kForward: return forward(std::move(d));
  }
}

void Inbound::forward(RcptDecision d) {
  Transaction& tx = *tx_;
  if (!tx.srs_sender) {
    if (tx.sender.empty()) {
      tx.srs_sender = std::string();
    } else {
      // A quoted local part is kept unquoted in tx.sender: never let it
      // reach the destination's MAIL FROM, even unchanged.
      Result<std::string> srs = tx.sender_quoted ? Result<std::string>(Status::invalid("quoted local part"))
                                                 : tx.routing->srs->forward(tx.sender, std::time(nullptr));
      if (!srs.ok()) return refuse_rcpt(d.recipient, "550 5.1.7 Sender address cannot be rewritten for forwarding (SRS)");
      tx.srs_sender = std::move(*srs);
    }
  }
  tx.rcpt = d.recipient;
  tx.single_reply.clear();
  tx.worst.clear();
  tx.round_first_leg = tx.legs.size();
  for (std::string& dest : d.destinations) {
    bool known = false;
    for (const Leg& leg : tx.legs) known |= folded(leg.destination) == folded(dest);
    if (!known) {
      Leg leg;
      leg.destination = std::move(dest);
      tx.legs.push_back(std::move(leg));
    }
  }
  std::size_t end = tx.legs.size();
  if (end > kMaxLegs && tx.round_first_leg < end) {
    tx.legs.resize(tx.round_first_leg);
    return refuse_rcpt(tx.rcpt, "452 4.5.3 Too many destinations in one transaction, send the rest again");
  }
  if (tx.round_first_leg == end) {  // every destination already has this message coming
    tx.recipients.push_back(tx.rcpt);
    return session_.answer_rcpt("250 2.1.5 Ok", true);
  }
  tx.pending = end - tx.round_first_leg;
  std::uint64_t serial = tx.serial;
  for (std::size_t i = tx.round_first_leg; i < end; ++i) {
    if (!tx_ || tx_->serial != serial) break;
    std::string dest = tx_->legs[i].destination;
    std::weak_ptr<char> alive = alive_;  // an MX lookup may answer after this connection is gone
    finding_ = true;
    tx_->routing->next_hop->find(dest, [this, alive, serial, i](Result<std::vector<Endpoint>> servers) {
      if (!alive.lock()) return;
      route_destination(serial, i, std::move(servers));
      if (!finding_) after_event();  // an answer from the resolver's event: nobody else writes ours
    });
    finding_ = false;
  }
}

void Inbound::route_destination(std::uint64_t serial, std::size_t leg, Result<std::vector<Endpoint>> servers) {
  if (!tx_ || tx_->serial != serial || leg >= tx_->legs.size()) return;
  Transaction& tx = *tx_;
  Leg& l = tx.legs[leg];
  if (!servers.ok()) {
    LogLine("rcpt-deferred").add("id", tx.id).add("rcpt", tx.rcpt).add("destination", l.destination)
        .add("why", servers.status().message()).emit();
    return destination_answered(serial, leg, next_hop_failure_reply(servers.status()), false);
  }
  l.servers = servers_key(*servers);
  bool same_servers = true;
  for (const Leg& other : tx.legs) {
    if (!other.accepted) continue;
    same_servers = other.servers == l.servers;
    if (same_servers) break;
  }
  if (!same_servers) {
    return destination_answered(serial, leg, "452 4.5.3 This recipient's mail goes to other servers, send it again in a new transaction", false);
  }
  // Only the best server is looked for among the connections kept open: a
  // backup MX is used when the ones before it fail, never just because a
  // connection to it happens to be open.
  l.servers_to_try = std::move(*servers);
  l.next_server = 1;
  std::unique_ptr<Upstream> up = take_upstream(l.servers_to_try.front());
  open_leg(serial, leg, std::move(up));
}

void Inbound::open_leg(std::uint64_t serial, std::size_t leg, std::unique_ptr<Upstream> upstream) {
  Transaction& tx = *tx_;
  tx.legs[leg].upstream = std::move(upstream);
  ClientSession& c = tx.legs[leg].upstream->session();  // freed only after this event, whatever happens below
  c.mail({*tx.srs_sender, tx.declared_size, tx.body_8bit, tx.smtputf8}, {});  // its refusal answers the RCPT too
  c.rcpt(tx.legs[leg].destination, [this, serial, leg](const Reply& r) {
    if ((r.code == 0 || r.code == 421) && try_again(serial, leg, r)) return;
    destination_answered(serial, leg, relay_rcpt_reply(r), r.positive());
  });
}

// The server gave up on the session before accepting the leg's recipient: it
// closed or lost the connection, timed out, or said 421 (closing) at any step
// up to RCPT. Nothing of the message went out, so trying elsewhere is safe. A
// connection kept open from an earlier transaction may simply have been given
// up since (closed, or 421 "too many messages on this connection"): the same
// server gets a fresh connection. A new connection's failure gives the next
// server of the list its turn. Both within what is left of the leg's
// deadline; any other answer (4xx or 5xx to MAIL or RCPT) is final.
bool Inbound::try_again(std::uint64_t serial, std::size_t leg, const Reply& failure) {
  if (!tx_ || tx_->serial != serial || leg >= tx_->legs.size()) return false;
  Leg& l = tx_->legs[leg];
  if (!l.upstream || l.next_server == 0) return false;
  bool afresh = l.upstream->reused();
  if (!afresh && l.next_server >= l.servers_to_try.size()) return false;
  std::int64_t owed = l.upstream->session().owed_ms(EventLoop::now_ms());
  if (owed >= core_.options().destination_deadline_ms) return false;
  const Endpoint& next = afresh ? l.servers_to_try[l.next_server - 1] : l.servers_to_try[l.next_server++];
  std::string why = failure.code == 0 ? failure.text() : std::to_string(failure.code) + " " + failure.text();
  LogLine(afresh ? "reconnect" : "mx-fallback").add("id", tx_->id).add("destination", l.destination)
      .add("endpoint", l.upstream->endpoint()).add("why", why).add("next", next.text).emit();
  drop_upstream(std::move(l.upstream));
  // A new connection, even when the pool holds another to the same server.
  open_leg(serial, leg, new_upstream(next, owed));
  return true;
}

void Inbound::destination_answered(std::uint64_t serial, std::size_t leg, std::string reply, bool ok) {
  if (!tx_ || tx_->serial != serial || tx_->pending == 0 || leg < tx_->round_first_leg) return;
  Transaction& tx = *tx_;
  if (ok) {
    if (tx.legs.size() - tx.round_first_leg == 1) tx.single_reply = reply;
  } else if (severity(reply) > severity(tx.worst)) {
    tx.worst = reply;
  }
  if (--tx.pending == 0) finish_rcpt();
}

// Every destination of the recipient answered: accept it when all accepted;
// else reset the legs opened for it, so none of them gets the message.
void Inbound::finish_rcpt() {
  Transaction& tx = *tx_;
  if (tx.worst.empty()) {
    for (std::size_t i = tx.round_first_leg; i < tx.legs.size(); ++i) tx.legs[i].accepted = true;
    tx.recipients.push_back(tx.rcpt);
    std::string reply = tx.single_reply.empty() ? std::string("250 2.1.5 Ok") : tx.single_reply;
    return session_.answer_rcpt(reply, true);
  }
  for (std::size_t i = tx.round_first_leg; i < tx.legs.size(); ++i) {
    release_upstream(std::move(tx.legs[i].upstream), true);
  }
  tx.legs.resize(tx.round_first_leg);
  refuse_rcpt(tx.rcpt, tx.worst);
}

// Every refused recipient gets a log line of its own (what an administrator
// greps for when a sender says its mail bounced), then the sender its reply.
void Inbound::refuse_rcpt(std::string_view rcpt, std::string_view reply) {
  Transaction& tx = *tx_;
  ++tx.refused;
  LogLine("rcpt-refused").add("id", tx.id).add("client", peer_).add("from", "<" + tx.sender + ">")
      .add("rcpt", rcpt).add("reply", reply).emit();
  session_.answer_rcpt(reply, false);
}

void Inbound::on_data_start() {
  if (!tx_) return;
  tx_->data_started = true;
  tx_->digest = std::make_unique<MessageDigest>();
  ReceivedInfo info;
  info.helo = session_.helo();
  info.client_ip = peer_ip_;
  info.hostname = routing_->hostname;
  info.id = tx_->id;
  info.protocol = tx_->smtputf8 ? "UTF8SMTP" : session_.esmtp() ? "ESMTP" : "SMTP";
  if (tx_->recipients.size() == 1) info.recipient = tx_->recipients.front();
  info.when = std::time(nullptr);
  std::vector<std::string> header = received_header(info);
  for (Leg& leg : tx_->legs) {
    if (!leg.upstream) continue;
    ClientSession& c = leg.upstream->session();
    c.data();
    for (const std::string& line : header) c.send_line(line);
  }
}

void Inbound::on_data_line(std::string_view line) {
  if (!tx_ || !tx_->digest) return;
  tx_->digest->add_line(line);
  if (tx_->in_headers) {
    if (line.empty()) tx_->in_headers = false;
    constexpr std::string_view kMessageId = "message-id:";
    tx_->has_message_id |= line.size() >= kMessageId.size() && folded(line.substr(0, kMessageId.size())) == kMessageId;
  }
  for (Leg& leg : tx_->legs) {
    if (!leg.upstream) continue;
    ClientSession& c = leg.upstream->session();
    c.send_line(line);
    if (c.pending_output() > kHighWater) session_.set_blocked(true);
  }
}

void Inbound::on_data_end(std::uint64_t size) {
  if (!tx_ || !tx_->digest) return session_.answer_data("451 4.3.0 Error: no transaction");
  Transaction& tx = *tx_;
  tx.size = size;
  if (tx.legs.empty()) {  // every recipient was a drop: accept and discard
    std::string reply = "250 2.0.0 Ok: " + tx.id;
    end_transaction(reply, true);
    return session_.answer_data(reply);
  }
  tx.message_digest = tx.digest->finish();
  std::int64_t now = std::time(nullptr);
  std::uint64_t serial = tx.serial;
  tx.answers_pending = tx.legs.size() + 1;  // +1: no answer can finish the message inside this loop
  for (std::size_t i = 0; i < tx.legs.size(); ++i) {
    Leg& leg = tx.legs[i];
    if (!leg.upstream) {
      leg.answer = "451 4.4.2 Destination connection lost";
      --tx.answers_pending;
      continue;
    }
    if (tx.has_message_id && core_.delivered().contains(DeliveryMemory::key(tx.message_digest, leg.destination), now)) {
      // The destination has these bytes already (an earlier attempt): cut
      // the leg before its "." so it does not get them twice.
      ++tx.skipped;
      leg.answer = "250 already delivered";
      drop_upstream(std::move(leg.upstream));
      --tx.answers_pending;
      continue;
    }
    leg.upstream->session().end_data([this, serial, i](const Reply& r) { leg_answered(serial, i, r); });
  }
  if (--tx.answers_pending == 0) finish_message();
}

void Inbound::leg_answered(std::uint64_t serial, std::size_t i, const Reply& r) {
  if (!tx_ || tx_->serial != serial || i >= tx_->legs.size() || tx_->answers_pending == 0) return;
  Transaction& tx = *tx_;
  tx.legs[i].answer = relay_data_reply(r, tx.id);
  if (r.positive() && tx.has_message_id) {
    core_.delivered().remember(DeliveryMemory::key(tx.message_digest, tx.legs[i].destination), std::time(nullptr));
  }
  if (--tx.answers_pending == 0) finish_message();
}

// 250 only when every destination accepted; otherwise a 4xx when any
// destination may still take it (the sender retries, and destinations that
// accepted are skipped then), else the first 5xx.
void Inbound::finish_message() {
  Transaction& tx = *tx_;
  std::string reply = relay_data_reply(Reply{250, {}}, tx.id);
  for (int wanted : {4, 5}) {
    bool found = false;
    for (const Leg& leg : tx.legs) {
      if (severity(leg.answer) == wanted) {
        reply = leg.answer;
        found = true;
        break;
      }
    }
    if (found) break;
  }
  end_transaction(reply, true);
  session_.answer_data(reply);
}

void Inbound::on_abort(std::string_view why) { end_transaction(why); }

void Inbound::end_transaction(std::string_view reply, bool message_done) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  std::vector<std::string> destinations;
  std::string via;
  for (Leg& leg : tx.legs) {
    if (leg.accepted) destinations.push_back(leg.destination);
    if (leg.upstream && via.find(leg.upstream->endpoint()) == std::string::npos) {
      via += (via.empty() ? "" : ",") + leg.upstream->endpoint();
    }
  }
  LogLine line("transaction");
  line.add("id", tx.id).add("client", peer_).add("helo", session_.helo()).add("from", "<" + tx.sender + ">");
  if (tx.srs_sender) line.add("srs_from", "<" + *tx.srs_sender + ">");
  line.add("rcpts", joined(tx.recipients)).add("refused", tx.refused).add("destinations", joined(destinations));
  if (!via.empty()) line.add("via", via);
  if (tx.skipped > 0) line.add("skipped_duplicates", tx.skipped);
  line.add("reply", reply).add("size", static_cast<std::int64_t>(tx.size))
      .add("duration_ms", EventLoop::now_ms() - tx.started_ms).emit();
  std::vector<Leg> legs = std::move(tx.legs);
  bool cut = tx.data_started && !message_done;
  tx_.reset();
  for (Leg& leg : legs) {
    // Never let a destination see the end of a message we did not accept.
    if (cut) {
      drop_upstream(std::move(leg.upstream));
    } else {
      release_upstream(std::move(leg.upstream), !message_done);
    }
  }
}

}  // namespace emailroute
