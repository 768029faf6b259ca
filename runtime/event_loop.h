// The relay's one event loop: epoll for sockets, a timer queue, signalfd for
// signals, and deferred calls. Single-threaded; every callback runs on the
// thread that calls run().
//
// Registrations are named by a token that is never reused, not by the file
// descriptor: when a handler closes one socket and accept() hands out the same
// descriptor number in the same epoll batch, a stale event for the old socket
// is dropped instead of reaching the new one.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "runtime/status.h"

namespace emailroute {

class EventLoop {
 public:
  using IoHandler = std::function<void(std::uint32_t events)>;
  using Token = std::uint64_t;
  using TimerId = std::uint64_t;

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  /// Creates the epoll instance. REQUIRES: called once before anything else.
  Status init();

  /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT; level-triggered).
  Result<Token> watch(int fd, std::uint32_t events, IoHandler handler);
  /// Changes the events watched; a no-op when they are the same.
  void modify(Token token, std::uint32_t events);
  /// Stops watching; pending events for the token are dropped. The caller closes fd.
  void unwatch(Token token);
  /// Stops watching and closes the fd: one syscall instead of two, as closing
  /// the only descriptor of a socket takes it out of the epoll set.
  /// REQUIRES: fd was not dup()ed or shared with a child.
  void close_watched(Token token);

  /// Calls `fn` once after `delay_ms`. Timer ids are never reused.
  TimerId add_timer(std::int64_t delay_ms, std::function<void()> fn);
  void cancel_timer(TimerId id);

  /// Blocks `signals` and delivers them through `handler` inside the loop.
  Status watch_signals(const std::vector<int>& signals, std::function<void(int)> handler);

  /// Runs `fn` after the current batch of events (e.g. to free an object
  /// whose handler is still on the stack).
  void defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

  /// Runs `fn` after every batch of events, timers and deferred calls.
  void after_each_batch(std::function<void()> fn) { after_batch_ = std::move(fn); }

  /// Dispatches events until stop().
  void run();
  void stop() { running_ = false; }

  /// Monotonic milliseconds.
  static std::int64_t now_ms();

 private:
  struct Watch {
    int fd;
    std::uint32_t events;
    std::shared_ptr<IoHandler> handler;  // shared: a handler may unwatch itself
  };
  void run_timers();
  void run_deferred();
  int next_timeout_ms() const;

  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  bool running_ = false;
  Token next_token_ = 1;
  TimerId next_timer_ = 1;
  std::unordered_map<Token, Watch> watches_;
  std::multimap<std::int64_t, TimerId> timer_queue_;  // deadline → id
  std::unordered_map<TimerId, std::function<void()>> timers_;
  std::vector<std::function<void()>> deferred_;
  std::function<void()> after_batch_;
};

}  // namespace emailroute
