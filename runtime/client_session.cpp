// The destination-side SMTP state machine; the rules are in client_session.h.
//
// SECURITY: see client_session.h.
#include "runtime/client_session.h"

#include <iostream>
#include <utility>
#include <vector>

#include "runtime/data_stream.h"

namespace emailroute {
namespace {

bool keyword_is(std::string_view line, std::string_view keyword) {
  if (line.size() < keyword.size()) return false;
  for (std::size_t i = 0; i < keyword.size(); ++i) {
    char c = line[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != keyword[i]) return false;
  }
  return line.size() == keyword.size() || line[keyword.size()] == ' ';
}

}  // namespace

std::string_view to_string(ClientSession::State state) {
  using S = ClientSession::State;
  switch (state) {
    case S::kConnecting: return "connecting";
    case S::kGreeting: return "greeting";
    case S::kEhlo: return "ehlo";
    case S::kHelo: return "helo";
    case S::kReady: return "ready";
    case S::kWaiting: return "waiting";
    case S::kStreaming: return "streaming";
    case S::kClosed: return "closed";
    case S::kFailed: return "failed";
  }
  return "failed";
}

void ClientSession::enter(State next) {
  if (trace) std::cerr << "client session: " << to_string(state_) << " -> " << to_string(next) << "\n";
  state_ = next;
}

bool ClientSession::awaiting_reply() const {
  switch (state_) {
    case State::kConnecting:
    case State::kGreeting:
    case State::kEhlo:
    case State::kHelo:
    case State::kWaiting: return true;
    case State::kReady:
    case State::kStreaming:
    case State::kClosed:
    case State::kFailed: return false;
  }
  return false;
}

void ClientSession::connected() {
  if (state_ == State::kConnecting) enter(State::kGreeting);
}

void ClientSession::send(const std::string& command) {
  out_ += command;
  out_ += "\r\n";
}

void ClientSession::feed(std::string_view bytes) {
  if (state_ == State::kFailed || state_ == State::kClosed) return;
  in_.append(bytes);
  while (state_ != State::kFailed && state_ != State::kClosed) {
    ReplyParse p = parse_reply(in_);
    if (p.kind == ReplyParse::Kind::kNeedMore) return;
    if (p.kind == ReplyParse::Kind::kError) return fail("destination sent a " + p.error);
    in_.erase(0, p.consumed);
    handle(p.reply);
  }
}

void ClientSession::fail(std::string_view why) {
  if (state_ == State::kFailed) return;
  Reply failure = no_reply(why);
  enter(State::kFailed);
  out_.clear();
  held_.clear();
  std::vector<ReplyFn> callbacks;
  if (outstanding_ && outstanding_->done) callbacks.push_back(std::move(outstanding_->done));
  outstanding_.reset();
  for (Request& r : queue_) {
    if (r.done) callbacks.push_back(std::move(r.done));
  }
  queue_.clear();
  if (end_requested_ && end_done_) callbacks.push_back(std::move(end_done_));
  end_requested_ = false;
  for (ReplyFn& fn : callbacks) fn(failure);
}

void ClientSession::handle_greeting_phase(const Reply& r) {
  if (state_ == State::kGreeting) {
    if (r.code != 220) return fail("destination greeting: " + std::to_string(r.code) + " " + r.text());
    enter(State::kEhlo);
    return send("EHLO " + helo_name_);
  }
  if (state_ == State::kEhlo && r.code >= 500) {
    enter(State::kHelo);
    return send("HELO " + helo_name_);
  }
  if (r.code != 250) return fail("destination refused EHLO/HELO: " + std::to_string(r.code) + " " + r.text());
  if (state_ == State::kEhlo) {
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
      has_size_ |= keyword_is(r.lines[i], "SIZE");
      has_8bit_ |= keyword_is(r.lines[i], "8BITMIME");
      has_smtputf8_ |= keyword_is(r.lines[i], "SMTPUTF8");
    }
  }
  enter(State::kReady);
  pump();
}

void ClientSession::handle(const Reply& r) {
  if (state_ == State::kGreeting || state_ == State::kEhlo || state_ == State::kHelo) return handle_greeting_phase(r);
  if (state_ != State::kWaiting || !outstanding_) return fail("destination sent an unexpected reply");
  Request request = std::move(*outstanding_);
  outstanding_.reset();
  enter(State::kReady);
  switch (request.kind) {
    case Kind::kMail:
      if (!r.positive()) {
        // The recipients queued behind a refused MAIL get its refusal.
        std::vector<ReplyFn> refused;
        while (!queue_.empty() && queue_.front().kind == Kind::kRcpt) {
          refused.push_back(std::move(queue_.front().done));
          queue_.pop_front();
        }
        if (request.done) request.done(r);
        for (ReplyFn& fn : refused) fn(r);
        break;
      }
      if (request.done) request.done(r);
      break;
    case Kind::kRcpt:
      if (request.done) request.done(r);
      break;
    case Kind::kData:
      if (r.code == 354) {
        enter(State::kStreaming);
        out_ += held_;
        held_.clear();
        if (end_requested_) {
          end_requested_ = false;
          out_ += kDataEnd;
          outstanding_ = Request{Kind::kEndOfData, {}, std::move(end_done_)};
          enter(State::kWaiting);
        }
        return;
      }
      held_.clear();
      if (end_requested_) {
        end_requested_ = false;
        ReplyFn done = std::move(end_done_);
        if (done) done(r);
      } else {
        data_refusal_ = r;
      }
      break;
    case Kind::kEndOfData:
      if (request.done) request.done(r);
      break;
    case Kind::kRset: break;
    case Kind::kQuit: enter(State::kClosed); return;
  }
  pump();
}

void ClientSession::pump() {
  if (state_ != State::kReady || outstanding_ || queue_.empty()) return;
  outstanding_ = std::move(queue_.front());
  queue_.pop_front();
  enter(State::kWaiting);
  switch (outstanding_->kind) {
    case Kind::kMail: return send(mail_command());
    case Kind::kRcpt: return send("RCPT TO:<" + outstanding_->argument + ">");
    case Kind::kData: return send("DATA");
    case Kind::kRset: return send("RSET");
    case Kind::kQuit: return send("QUIT");
    case Kind::kEndOfData: return;  // never queued: end_data() sends "." itself
  }
}

std::string ClientSession::mail_command() const {
  std::string command = "MAIL FROM:<" + mail_.sender + ">";
  if (has_size_ && mail_.size) command += " SIZE=" + std::to_string(*mail_.size);
  if (has_8bit_ && mail_.body_8bit) command += " BODY=8BITMIME";
  if (has_smtputf8_ && mail_.smtputf8) command += " SMTPUTF8";
  return command;
}

void ClientSession::mail(MailRequest request, ReplyFn done) {
  if (!usable()) return done(no_reply("destination session failed"));
  mail_ = std::move(request);
  queue_.push_back(Request{Kind::kMail, {}, std::move(done)});
  pump();
}

void ClientSession::rcpt(std::string recipient, ReplyFn done) {
  if (!usable()) return done(no_reply("destination session failed"));
  queue_.push_back(Request{Kind::kRcpt, std::move(recipient), std::move(done)});
  pump();
}

void ClientSession::data() {
  if (!usable()) return;
  data_refusal_.reset();
  end_requested_ = false;
  queue_.push_back(Request{Kind::kData, {}, {}});
  pump();
}

void ClientSession::send_line(std::string_view line) {
  if (state_ == State::kStreaming) return append_data_line(out_, line);
  if (usable() && !data_refusal_) append_data_line(held_, line);
}

void ClientSession::end_data(ReplyFn done) {
  if (!usable()) return done(no_reply("destination session failed"));
  if (data_refusal_) {
    Reply r = *data_refusal_;
    data_refusal_.reset();
    return done(r);
  }
  if (state_ == State::kStreaming) {
    out_ += kDataEnd;
    outstanding_ = Request{Kind::kEndOfData, {}, std::move(done)};
    enter(State::kWaiting);
    return;
  }
  end_requested_ = true;
  end_done_ = std::move(done);
}

void ClientSession::rset() {
  if (!usable()) return;
  queue_.push_back(Request{Kind::kRset, {}, {}});
  pump();
}

void ClientSession::quit() {
  if (!usable()) return;
  queue_.push_back(Request{Kind::kQuit, {}, {}});
  pump();
}

}  // namespace emailroute
