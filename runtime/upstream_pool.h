// Destination connections kept open between transactions, shared by every
// sender connection of the process, as Postfix's connection cache does: a
// new sender's message to the same destination server skips the TCP
// handshake, greeting and EHLO.
//
// A connection enters the pool only when its session is idle (usable, no
// request in flight, so no callback into the transaction that gave it); while
// pooled it belongs to the pool (its events come here), and it leaves when a
// transaction takes it, when the destination closes it, or after being idle
// kIdleMillis. At most kMaxIdle connections are kept.
//
// SECURITY: pooled connections carry no transaction: a session enters after
// its message was answered or after RSET was queued, so nothing of one
// sender's transaction can leak into another's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/upstream.h"

namespace emailroute {

class UpstreamPool {
 public:
  static constexpr std::size_t kMaxIdle = 64;
  static constexpr std::int64_t kIdleMillis = 30000;

  explicit UpstreamPool(EventLoop& loop) : loop_(loop) {}
  ~UpstreamPool();

  /// An idle connection to `endpoint` that greeted with `helo_name`, or null.
  /// `on_event` becomes its event callback.
  std::unique_ptr<Upstream> take(const std::string& endpoint, const std::string& helo_name,
                                 std::function<void()> on_event);
  /// Keeps `upstream` for later (after queueing RSET when `reset`), or closes it.
  void give(std::unique_ptr<Upstream> upstream, bool reset);
  /// Closes every pooled connection and keeps none from now on (shutdown).
  void close_all();
  std::size_t size() const { return idle_.size(); }

 private:
  void on_event(Upstream* upstream);
  void sweep();
  void drop(std::size_t index);

  EventLoop& loop_;
  std::vector<std::unique_ptr<Upstream>> idle_;
  EventLoop::TimerId sweeper_ = 0;
  bool closed_ = false;
};

/// Closes `upstream` now and frees it after the current event (its own
/// handler may be on the stack).
void discard_upstream(EventLoop& loop, std::unique_ptr<Upstream> upstream);

}  // namespace emailroute
