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

void ClientSession::note_time(std::int64_t now_ms) {
  bool owing = owes_us();
  if (owing && owed_since_ < 0) {
    owed_since_ = now_ms;
  } else if (!owing && owed_since_ >= 0) {
    owed_ms_ = owed_ms(now_ms);
    owed_since_ = -1;
  }
}

void ClientSession::send(std::string_view command) {
  out_.append(command);
  out_.append("\r\n");
}

void ClientSession::feed(std::string_view bytes) {
  if (state_ == State::kFailed || state_ == State::kClosed) return;
  in_.append(bytes);
  std::size_t used = 0;  // erased once at the end: a read may hold several replies
  while (state_ != State::kFailed && state_ != State::kClosed) {
    ReplyParse p = parse_reply(std::string_view(in_).substr(used));
    if (p.kind == ReplyParse::Kind::kNeedMore) break;
    if (p.kind == ReplyParse::Kind::kError) return fail("destination sent a " + p.error);
    used += p.consumed;
    handle(p.reply);
  }
  if (state_ != State::kFailed) in_.erase(0, used);
}

void ClientSession::fail(std::string_view why) { fail_with(no_reply(why)); }

void ClientSession::fail_with(const Reply& failure) {
  if (state_ == State::kFailed) return;
  enter(State::kFailed);
  out_.clear();
  held_.clear();
  in_.clear();
  std::vector<ReplyFn> callbacks;
  for (std::deque<Request>* list : {&sent_, &queue_}) {
    for (Request& r : *list) {
      if (r.done) callbacks.push_back(std::move(r.done));
    }
    list->clear();
  }
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
      has_pipelining_ |= keyword_is(r.lines[i], "PIPELINING");
    }
  }
  enter(State::kReady);
  pump();
}

void ClientSession::handle(const Reply& r) {
  if (state_ == State::kGreeting || state_ == State::kEhlo || state_ == State::kHelo) return handle_greeting_phase(r);
  if (state_ != State::kWaiting || sent_.empty()) return fail("destination sent an unexpected reply");
  if (r.code == 421) return fail_with(r);
  Request request = std::move(sent_.front());
  sent_.pop_front();
  if (sent_.empty()) enter(State::kReady);
  const Reply& answer = request.answer ? *request.answer : r;
  switch (request.kind) {
    case Kind::kMail:
      if (!r.positive()) {
        // The recipients behind a refused MAIL get its refusal: those sent
        // in the same group when their replies come, the others now.
        for (Request& later : sent_) {
          if (later.kind != Kind::kRcpt) break;
          later.answer = r;
        }
        std::vector<ReplyFn> refused;
        while (sent_.empty() && !queue_.empty() && queue_.front().kind == Kind::kRcpt) {
          refused.push_back(std::move(queue_.front().done));
          queue_.pop_front();
        }
        if (request.done) request.done(r);
        for (ReplyFn& fn : refused) {
          if (fn) fn(r);
        }
        break;
      }
      if (request.done) request.done(r);
      break;
    case Kind::kRcpt:
      if (request.done) request.done(answer);
      break;
    case Kind::kData:
      if (r.code == 354) {
        enter(State::kStreaming);
        if (out_.empty()) {
          out_.swap(held_);
        } else {
          out_ += held_;
        }
        held_.clear();
        if (end_requested_) {
          end_requested_ = false;
          out_ += kDataEnd;
          sent_.push_back(Request{Kind::kEndOfData, {}, std::move(end_done_), {}});
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
  // Commands that a PIPELINING group may hold before its last (RFC 2920 §3.1).
  auto joins_group = [](Kind k) { return k == Kind::kRset || k == Kind::kMail || k == Kind::kRcpt; };
  while (!queue_.empty()) {
    bool may_send = state_ == State::kReady ||
                    (state_ == State::kWaiting && has_pipelining_ && !sent_.empty() && joins_group(sent_.back().kind) &&
                     joins_group(queue_.front().kind));
    if (!may_send) return;
    sent_.push_back(std::move(queue_.front()));
    queue_.pop_front();
    if (state_ != State::kWaiting) enter(State::kWaiting);
    send(sent_.back());
  }
}

void ClientSession::send(const Request& request) {
  switch (request.kind) {
    case Kind::kMail: return append_mail_command();
    case Kind::kRcpt:
      out_.append("RCPT TO:<");
      out_.append(request.argument);
      out_.append(">\r\n");
      return;
    case Kind::kData: return send("DATA");
    case Kind::kRset: return send("RSET");
    case Kind::kQuit: return send("QUIT");
    case Kind::kEndOfData: return;  // never queued: end_data() sends "." itself
  }
}

void ClientSession::append_mail_command() {
  out_.append("MAIL FROM:<");
  out_.append(mail_.sender);
  out_.append(">");
  if (has_size_ && mail_.size) out_.append(" SIZE=").append(std::to_string(*mail_.size));
  if (has_8bit_ && mail_.body_8bit) out_.append(" BODY=8BITMIME");
  if (has_smtputf8_ && mail_.smtputf8) out_.append(" SMTPUTF8");
  out_.append("\r\n");
}

void ClientSession::mail(MailRequest request, ReplyFn done) {
  if (!usable()) return done(no_reply("destination session failed"));
  mail_ = std::move(request);
  queue_.push_back(Request{Kind::kMail, {}, std::move(done), {}});
  pump();
}

void ClientSession::rcpt(std::string recipient, ReplyFn done) {
  if (!usable()) return done(no_reply("destination session failed"));
  queue_.push_back(Request{Kind::kRcpt, std::move(recipient), std::move(done), {}});
  pump();
}

void ClientSession::data() {
  if (!usable()) return;
  data_refusal_.reset();
  end_requested_ = false;
  queue_.push_back(Request{Kind::kData, {}, {}, {}});
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
    sent_.push_back(Request{Kind::kEndOfData, {}, std::move(done), {}});
    enter(State::kWaiting);
    return;
  }
  end_requested_ = true;
  end_done_ = std::move(done);
}

void ClientSession::rset() {
  if (!usable()) return;
  queue_.push_back(Request{Kind::kRset, {}, {}, {}});
  pump();
}

void ClientSession::quit() {
  if (!usable()) return;
  queue_.push_back(Request{Kind::kQuit, {}, {}, {}});
  pump();
}

}  // namespace emailroute
