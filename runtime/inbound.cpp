// A sender's connection: sockets, timers and lifetime. The transaction
// logic (the SessionHandler side) is in inbound_transaction.cpp.
//
// SECURITY: see inbound.h. Reads are bounded: the session stops asking for
// input when kMaxBuffered octets wait, and each read takes at most 16 KiB.
#include "runtime/inbound.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

namespace emailroute {

Inbound::Inbound(RelayCore& core, int fd, std::string peer, std::string peer_ip)
    : core_(core),
      fd_(fd),
      peer_(std::move(peer)),
      peer_ip_(std::move(peer_ip)),
      routing_(core.routing()),
      session_(routing_->limits, *this) {}

Inbound::~Inbound() {
  if (timer_ != 0) core_.loop().cancel_timer(timer_);
  if (fd_ >= 0) core_.loop().close_watched(token_);
}

Status Inbound::start() {
  Result<EventLoop::Token> t = core_.loop().watch(fd_, EPOLLIN, [this](std::uint32_t ev) { on_io(ev); });
  if (!t.ok()) return t.status();
  token_ = *t;
  last_sender_activity_ = EventLoop::now_ms();
  session_.start();
  after_event();
  return Status::ok_status();
}

void Inbound::shut_down() {
  session_.shut_down();
  after_event();
}

void Inbound::on_io(std::uint32_t events) {
  if (finished_) return;
  if (events & EPOLLERR) {
    session_.disconnected();
  } else if (events & (EPOLLIN | EPOLLHUP)) {
    char buf[16 * 1024];
    while (session_.wants_input()) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n > 0) {
        last_sender_activity_ = EventLoop::now_ms();
        session_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        if (static_cast<std::size_t>(n) < sizeof buf) break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n == 0 || errno != EAGAIN) session_.disconnected();
        break;
      }
    }
  }
  after_event();
}

void Inbound::after_event() {
  if (finished_) return;
  // Write to the destinations first, then see whether backpressure can be
  // lifted: checking before writing could leave the session blocked with
  // nothing left to write and no event to come. Each round consumes input
  // already buffered, so the loop ends.
  while (true) {
    for_each_upstream([](Upstream& up) { up.flush(); });
    if (session_.state() != ServerSession::State::kData || !session_.blocked()) break;
    std::size_t waiting = 0;
    for_each_upstream([&](Upstream& up) { waiting = std::max(waiting, up.session().pending_output()); });
    if (waiting >= kLowWater) break;
    last_sender_activity_ = EventLoop::now_ms();  // its clock restarts when we read it again
    session_.set_blocked(false);
  }
  flush_sender();
  if (session_.closed() && session_.output().empty()) return finish();
  std::uint32_t want = 0;
  if (session_.wants_input()) want |= EPOLLIN;
  if (!session_.output().empty()) want |= EPOLLOUT;
  core_.loop().modify(token_, want);
  arm_timer();
}

void Inbound::flush_sender() {
  std::string& out = session_.output();
  std::size_t written = 0;
  while (written < out.size()) {
    ssize_t n = send(fd_, out.data() + written, out.size() - written, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != EAGAIN) {
        out.clear();
        session_.disconnected();
        return;
      }
      break;
    }
  }
  out.erase(0, written);
}

// One timer per connection, at the earliest deadline that applies: the
// sender's next command, the destination's next reply, or the end of a
// destination leg's time in all (RelayOptions::destination_deadline_ms).
// When activity has moved a deadline on, the timer fires early, finds
// nothing due and re-arms.

namespace {

// A server that has not accepted the connection is given up sooner than one
// slow to reply, so the next MX host gets its turn.
std::int64_t wait_limit(const ClientSession& c, const RelayOptions& o) {
  return c.state() == ClientSession::State::kConnecting ? o.connect_timeout_ms : o.upstream_timeout_ms;
}

}  // namespace

// The sender's timeout runs only while we wait for the sender: not while it
// waits for our answer, nor while backpressure keeps us from reading it.
bool Inbound::sender_owes_us() const {
  ServerSession::State s = session_.state();
  return !session_.closed() && !session_.blocked() && s != ServerSession::State::kRcptPending &&
         s != ServerSession::State::kDataPending;
}

void Inbound::arm_timer() {
  const RelayOptions& o = core_.options();
  std::int64_t deadline = LLONG_MAX;
  if (sender_owes_us()) deadline = last_sender_activity_ + o.command_timeout_ms;
  std::int64_t now = EventLoop::now_ms();
  for_each_upstream([&](Upstream& up) {
    ClientSession& c = up.session();
    if (!c.owes_us()) return;
    deadline = std::min(deadline, up.last_activity() + wait_limit(c, o));
    deadline = std::min(deadline, now + o.destination_deadline_ms - c.owed_ms(now));
  });
  if (deadline == LLONG_MAX || (timer_ != 0 && timer_at_ <= deadline)) return;
  if (timer_ != 0) core_.loop().cancel_timer(timer_);
  timer_at_ = deadline;
  timer_ = core_.loop().add_timer(deadline - now, [this] {
    timer_ = 0;
    on_timer();
  });
}

void Inbound::on_timer() {
  if (finished_) return;
  const RelayOptions& o = core_.options();
  std::int64_t now = EventLoop::now_ms();
  std::vector<std::pair<ClientSession*, const char*>> late;
  for_each_upstream([&](Upstream& up) {
    ClientSession& c = up.session();
    if (!c.owes_us()) return;
    if (c.owed_ms(now) >= o.destination_deadline_ms) {
      late.emplace_back(&c, "destination deadline passed");
    } else if (now >= up.last_activity() + wait_limit(c, o)) {
      late.emplace_back(&c, c.state() == ClientSession::State::kConnecting ? "connection timed out" : "destination timed out");
    }
  });
  // Failing a leg may end the transaction: collected first. A failed leg
  // loses what it had not written, so a message never gets its final dot.
  for (auto& [c, why] : late) c->fail(why);
  if (sender_owes_us() && now >= last_sender_activity_ + o.command_timeout_ms) {
    session_.timed_out();
  }
  after_event();
}

void Inbound::finish() {
  finished_ = true;
  if (tx_) end_transaction("connection closed");
  if (timer_ != 0) core_.loop().cancel_timer(timer_);
  timer_ = 0;
  core_.loop().close_watched(token_);
  fd_ = -1;
  core_.finished(*this);
}

std::unique_ptr<Upstream> Inbound::take_upstream(const Endpoint& endpoint) {
  std::unique_ptr<Upstream> up = core_.pool().take(endpoint.text, routing_->hostname, [this] { after_event(); });
  if (up) {
    up->session().restart_owed_clock();  // its time in the pool, or with another sender, is not this leg's
    return up;
  }
  return new_upstream(endpoint, 0);
}

std::unique_ptr<Upstream> Inbound::new_upstream(const Endpoint& endpoint, std::int64_t already_owed) {
  auto up = std::make_unique<Upstream>(core_.loop(), endpoint, routing_->hostname, [this] { after_event(); });
  up->session().restart_owed_clock(already_owed);
  up->start();
  return up;
}

void Inbound::release_upstream(std::unique_ptr<Upstream> up, bool reset) { core_.pool().give(std::move(up), reset); }

void Inbound::drop_upstream(std::unique_ptr<Upstream> up) { discard_upstream(core_.loop(), std::move(up)); }

}  // namespace emailroute
