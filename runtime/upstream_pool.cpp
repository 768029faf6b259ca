// The pool of idle destination connections; see upstream_pool.h.
#include "runtime/upstream_pool.h"

namespace emailroute {

void discard_upstream(EventLoop& loop, std::unique_ptr<Upstream> upstream) {
  if (!upstream) return;
  upstream->quit_now();
  std::shared_ptr<Upstream> old(upstream.release());
  loop.defer([old] {});
}

UpstreamPool::~UpstreamPool() {
  if (sweeper_ != 0) loop_.cancel_timer(sweeper_);
}

std::unique_ptr<Upstream> UpstreamPool::take(const std::string& endpoint, const std::string& helo_name,
                                             std::function<void()> on_event) {
  for (std::size_t i = idle_.size(); i-- > 0;) {  // the most recently used first
    Upstream& up = *idle_[i];
    if (up.session().usable() && up.endpoint() == endpoint && up.helo_name() == helo_name) {
      std::unique_ptr<Upstream> taken = std::move(idle_[i]);
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      taken->set_on_event(std::move(on_event));
      taken->mark_reused();
      return taken;
    }
  }
  return nullptr;
}

void UpstreamPool::give(std::unique_ptr<Upstream> upstream, bool reset) {
  if (!upstream) return;
  // Only a session with no request in flight: a pending request's callback
  // points into the transaction that is giving the connection away.
  if (closed_ || !upstream->session().idle()) return discard_upstream(loop_, std::move(upstream));
  if (idle_.size() >= kMaxIdle) drop(0);  // the least recently used goes
  if (reset) upstream->session().rset();
  Upstream* raw = upstream.get();
  upstream->set_on_event([this, raw] { on_event(raw); });
  upstream->flush();
  idle_.push_back(std::move(upstream));
  if (sweeper_ == 0) sweeper_ = loop_.add_timer(kIdleMillis / 3, [this] {
    sweeper_ = 0;
    sweep();
  });
}

void UpstreamPool::drop(std::size_t index) {
  std::unique_ptr<Upstream> up = std::move(idle_[index]);
  idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(index));
  discard_upstream(loop_, std::move(up));
}

// A pooled connection had an event: the destination closed it, or answered
// the RSET; keep it only while it is usable.
void UpstreamPool::on_event(Upstream* upstream) {
  for (std::size_t i = 0; i < idle_.size(); ++i) {
    if (idle_[i].get() == upstream) {
      if (!upstream->session().usable()) drop(i);
      return;
    }
  }
}

void UpstreamPool::sweep() {
  std::int64_t now = EventLoop::now_ms();
  for (std::size_t i = idle_.size(); i-- > 0;) {
    if (!idle_[i]->session().usable() || now - idle_[i]->last_activity() >= kIdleMillis) drop(i);
  }
  if (!idle_.empty()) sweeper_ = loop_.add_timer(kIdleMillis / 3, [this] {
    sweeper_ = 0;
    sweep();
  });
}

void UpstreamPool::close_all() {
  closed_ = true;
  while (!idle_.empty()) drop(idle_.size() - 1);
}

}  // namespace emailroute
