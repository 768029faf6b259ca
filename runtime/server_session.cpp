// The inbound SMTP state machine; the rules are listed in server_session.h.
//
// SECURITY: see server_session.h. Replies are built from constants, the
// configured hostname and the parser's reasons; never from raw input.
#include "runtime/server_session.h"

#include <iostream>

namespace emailroute {
namespace {

bool starts_with_folded(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (fold(text[i]) != fold(prefix[i])) return false;
  }
  return true;
}

bool is_failure(std::string_view reply) { return !reply.empty() && (reply[0] == '4' || reply[0] == '5'); }

}  // namespace

std::string_view to_string(ServerSession::State state) {
  using S = ServerSession::State;
  switch (state) {
    case S::kNeedHelo: return "need-helo";
    case S::kReady: return "ready";
    case S::kMailGiven: return "mail-given";
    case S::kRcptPending: return "rcpt-pending";
    case S::kRcptGiven: return "rcpt-given";
    case S::kData: return "data";
    case S::kDataPending: return "data-pending";
    case S::kClosed: return "closed";
  }
  return "closed";
}

void ServerSession::enter(State next) {
  if (trace) std::cerr << "session: " << to_string(state_) << " -> " << to_string(next) << "\n";
  state_ = next;
}

bool ServerSession::in_transaction() const {
  return state_ == State::kMailGiven || state_ == State::kRcptPending || state_ == State::kRcptGiven ||
         state_ == State::kData || state_ == State::kDataPending;
}

void ServerSession::reply(std::string_view line) {
  out_.append(line);
  out_.append("\r\n");
  if (!is_failure(line) || state_ == State::kClosed) return;
  if (++errors_ >= kMaxErrors) close_with("421 4.7.0 " + limits_.hostname + " Error: too many errors");
}

void ServerSession::close_with(std::string_view line) {
  if (state_ == State::kClosed) return;
  abort_transaction("closed by relay");
  enter(State::kClosed);
  out_.append(line);
  out_.append("\r\n");
}

void ServerSession::abort_transaction(std::string_view why) {
  if (in_transaction()) handler_.on_abort(why);
  recipients_ = 0;
  refusal_.clear();
  if (state_ != State::kClosed && state_ != State::kNeedHelo) enter(State::kReady);
}

void ServerSession::start() { out_ += "220 " + limits_.hostname + " ESMTP emailroute\r\n"; }

void ServerSession::feed(std::string_view bytes) {
  if (state_ == State::kClosed) return;
  in_.append(bytes);
  process();
}

void ServerSession::disconnected() {
  abort_transaction("sender disconnected");
  enter(State::kClosed);
}

void ServerSession::timed_out() { close_with("421 4.4.2 " + limits_.hostname + " Error: timeout exceeded"); }

void ServerSession::shut_down() {
  draining_ = true;
  if (!in_transaction()) close_with("421 4.3.2 " + limits_.hostname + " Service shutting down");
}

void ServerSession::set_blocked(bool blocked) {
  blocked_ = blocked;
  if (!blocked) process();
}

void ServerSession::answer_rcpt(std::string_view line, bool accepted) {
  if (state_ != State::kRcptPending) return;
  if (accepted) ++recipients_;
  enter(recipients_ > 0 ? State::kRcptGiven : State::kMailGiven);
  reply(line);
  process();
}

void ServerSession::answer_data(std::string_view line) {
  if (state_ != State::kDataPending) return;
  recipients_ = 0;
  enter(State::kReady);
  // The destination's verdict is not the sender's error; a delivery starts
  // the count afresh ("errors without delivering mail", as Postfix counts).
  if (!is_failure(line)) errors_ = 0;
  out_.append(line);
  out_.append("\r\n");
  if (draining_) close_with("421 4.3.2 " + limits_.hostname + " Service shutting down");
  process();
}

void ServerSession::process() {
  if (in_process_) return;  // an answer given from inside a handler call
  in_process_ = true;
  while (true) {
    bool progressed = false;
    if (state_ == State::kData) {
      progressed = !blocked_ && step_data();
    } else if (state_ != State::kClosed && state_ != State::kRcptPending && state_ != State::kDataPending) {
      progressed = step_command();
    }
    if (!progressed) break;
  }
  in_.erase(0, pos_);
  pos_ = 0;
  in_process_ = false;
}

bool ServerSession::step_command() {
  std::string_view view = std::string_view(in_).substr(pos_);
  if (skipping_) {
    SkipResult s = skip_line(view);
    pos_ += s.consumed;
    if (!s.line_ended) return false;
    skipping_ = false;
    reply("500 5.5.6 Error: line too long");
    return true;
  }
  ParseResult r = parse_command(view);
  if (r.kind == ParseResult::Kind::kNeedMore) return false;
  pos_ += r.consumed;
  if (draining_ && !in_transaction()) {
    close_with("421 4.3.2 " + limits_.hostname + " Service shutting down");
    return false;
  }
  if (r.kind == ParseResult::Kind::kError) {
    command_error(r);
  } else {
    dispatch(r.command);
  }
  return true;
}

void ServerSession::command_error(const ParseResult& r) {
  switch (r.error) {
    case CommandError::kLineTooLong:
      if (!r.line_ended) {
        skipping_ = true;
      } else {
        reply("500 5.5.6 Error: line too long");
      }
      return;
    case CommandError::kBareLineFeed: return reply("500 5.5.2 Error: bare <LF> received");
    case CommandError::kBadCharacter: return reply("500 5.5.2 Error: " + r.reason);
    case CommandError::kSyntax: return reply("501 5.5.4 Syntax: " + r.reason);
    case CommandError::kBadAddress:
      return reply(r.command.verb == Verb::kMail ? "501 5.1.7 Bad sender address syntax"
                                                 : "501 5.1.3 Bad recipient address syntax");
    case CommandError::kBadParameter: return reply("501 5.5.4 Bad parameter: " + r.reason);
    case CommandError::kUnknownParameter: return reply("555 5.5.4 Unsupported parameter: " + r.reason);
    case CommandError::kNone: return;
  }
}

void ServerSession::dispatch(const SmtpCommand& c) {
  switch (c.verb) {
    case Verb::kEhlo:
    case Verb::kHelo: return greet(c);
    case Verb::kMail: return mail(c);
    case Verb::kRcpt: return rcpt(c);
    case Verb::kData: return data();
    case Verb::kRset:
      abort_transaction("RSET");
      return reply("250 2.0.0 Ok");
    case Verb::kNoop: return reply("250 2.0.0 Ok");
    case Verb::kQuit:
      abort_transaction("QUIT");
      enter(State::kClosed);
      out_ += "221 2.0.0 Bye\r\n";
      return;
    case Verb::kVrfy: return reply("252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery");
    case Verb::kHelp: return reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
    case Verb::kStartTls: return reply("502 5.5.1 Error: command not implemented");
    case Verb::kUnknown: return reply("500 5.5.2 Error: command not recognized");
  }
}

void ServerSession::greet(const SmtpCommand& c) {
  abort_transaction(c.verb == Verb::kEhlo ? "EHLO" : "HELO");
  helo_ = std::string(c.argument);
  esmtp_ = c.verb == Verb::kEhlo;
  enter(State::kReady);
  if (!esmtp_) return reply("250 " + limits_.hostname);
  out_ += "250-" + limits_.hostname + "\r\n250-PIPELINING\r\n250-SIZE " + std::to_string(limits_.max_message_size) +
          "\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n";
}

void ServerSession::mail(const SmtpCommand& c) {
  if (state_ == State::kNeedHelo) return reply("503 5.5.1 Error: send HELO/EHLO first");
  if (state_ != State::kReady) return reply("503 5.5.1 Error: nested MAIL command");
  if (c.size && *c.size > limits_.max_message_size) return reply("552 5.3.4 Error: message size exceeds limit");
  std::string refusal = handler_.on_mail(c);
  if (!refusal.empty()) return reply(refusal);
  enter(State::kMailGiven);
  reply("250 2.1.0 Ok");
}

void ServerSession::rcpt(const SmtpCommand& c) {
  if (state_ != State::kMailGiven && state_ != State::kRcptGiven) return reply("503 5.5.1 Error: need MAIL command");
  if (recipients_ >= limits_.max_recipients) return reply("452 4.5.3 Error: too many recipients");
  enter(State::kRcptPending);
  handler_.on_rcpt(c);  // answers through answer_rcpt, maybe right away
}

void ServerSession::data() {
  if (state_ == State::kMailGiven) return reply("554 5.5.1 Error: no valid recipients");
  if (state_ != State::kRcptGiven) return reply("503 5.5.1 Error: need RCPT command");
  if (pos_ < in_.size()) {
    return close_with("554 5.5.0 Error: SMTP protocol synchronization (data sent before 354)");
  }
  reader_.reset();
  in_headers_ = true;
  received_headers_ = 0;
  refusal_.clear();
  enter(State::kData);
  out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
  handler_.on_data_start();
}

bool ServerSession::step_data() {
  DataReader::Step step = reader_.next(std::string_view(in_).substr(pos_));
  pos_ += step.consumed;
  switch (step.kind) {
    case DataReader::Step::Kind::kNeedMore:
      if (reader_.defective()) refuse_message("");  // stop the destination leg early
      return false;
    case DataReader::Step::Kind::kLine: on_message_line(step.line); return true;
    case DataReader::Step::Kind::kEnd: finish_message(); return true;
  }
  return false;
}

void ServerSession::on_message_line(std::string_view line) {
  if (!refusal_.empty()) return;
  if (reader_.message_size() > limits_.max_message_size) {
    return refuse_message("552 5.3.4 Error: message size exceeds limit");
  }
  if (in_headers_) {
    if (line.empty()) in_headers_ = false;
    if (starts_with_folded(line, "Received:") && ++received_headers_ > kMaxReceivedHeaders) {
      return refuse_message("554 5.4.6 Error: too many hops (Received: headers), mail loop");
    }
  }
  handler_.on_data_line(line);
}

// Remembers why the message is refused and ends the transaction at once, so
// the destination leg is aborted without ever seeing the end of the message.
void ServerSession::refuse_message(std::string_view line) {
  if (!refusal_.empty()) return;
  refusal_ = line.empty() ? std::string("-") : std::string(line);
  handler_.on_abort(line.empty() ? to_string(reader_.defect()) : line);
}

void ServerSession::finish_message() {
  std::string answer;
  if (reader_.defect() == DataDefect::kLineTooLong) {
    answer = "500 5.5.6 Error: message line too long";
  } else if (reader_.defective()) {
    answer = "550 5.5.2 Error: " + std::string(to_string(reader_.defect())) + " (only <CRLF> ends a line)";
  } else if (reader_.message_size() > limits_.max_message_size) {
    answer = "552 5.3.4 Error: message size exceeds limit";
  } else if (!refusal_.empty()) {
    answer = refusal_;
  }
  if (answer.empty()) {
    enter(State::kDataPending);
    handler_.on_data_end(reader_.message_size());
    return;
  }
  if (refusal_.empty()) handler_.on_abort(answer);
  refusal_.clear();
  recipients_ = 0;
  enter(State::kReady);
  reply(answer);
}

}  // namespace emailroute
