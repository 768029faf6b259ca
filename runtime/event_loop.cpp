// epoll, timers and signalfd; see event_loop.h.
#include "runtime/event_loop.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace emailroute {

EventLoop::~EventLoop() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status EventLoop::init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::io_error(std::string("epoll_create1: ") + std::strerror(errno));
  return Status::ok_status();
}

std::int64_t EventLoop::now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Result<EventLoop::Token> EventLoop::watch(int fd, std::uint32_t events, IoHandler handler) {
  Token token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Status::io_error(std::string("epoll_ctl add: ") + std::strerror(errno));
  }
  watches_.emplace(token, Watch{fd, events, std::make_shared<IoHandler>(std::move(handler))});
  return token;
}

void EventLoop::modify(Token token, std::uint32_t events) {
  auto it = watches_.find(token);
  if (it == watches_.end() || it->second.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second.fd, &ev) == 0) it->second.events = events;
}

void EventLoop::close_watched(Token token) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return;
  close(it->second.fd);
  watches_.erase(it);
}

void EventLoop::unwatch(Token token) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  watches_.erase(it);
}

EventLoop::TimerId EventLoop::add_timer(std::int64_t delay_ms, std::function<void()> fn) {
  TimerId id = next_timer_++;
  timer_queue_.emplace(now_ms() + delay_ms, id);
  timers_.emplace(id, std::move(fn));
  return id;
}

void EventLoop::cancel_timer(TimerId id) { timers_.erase(id); }  // its queue entry is skipped when due

Status EventLoop::watch_signals(const std::vector<int>& signals, std::function<void(int)> handler) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return Status::io_error("sigprocmask failed");
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return Status::io_error(std::string("signalfd: ") + std::strerror(errno));
  Result<Token> t = watch(signal_fd_, EPOLLIN, [this, handler = std::move(handler)](std::uint32_t) {
    signalfd_siginfo info{};
    while (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      handler(static_cast<int>(info.ssi_signo));
    }
  });
  return t.status();
}

int EventLoop::next_timeout_ms() const {
  if (!deferred_.empty()) return 0;
  if (timer_queue_.empty()) return -1;
  std::int64_t wait = timer_queue_.begin()->first - now_ms();
  if (wait < 0) return 0;
  return wait > 60000 ? 60000 : static_cast<int>(wait);
}

void EventLoop::run_timers() {
  std::int64_t now = now_ms();
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now) {
    TimerId id = timer_queue_.begin()->second;
    timer_queue_.erase(timer_queue_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::run_deferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(deferred_);
    for (auto& fn : batch) fn();
  }
}

void EventLoop::run() {
  running_ = true;
  epoll_event events[64];
  while (running_) {
    int n = epoll_wait(epoll_fd_, events, 64, next_timeout_ms());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto it = watches_.find(events[i].data.u64);
      if (it == watches_.end()) continue;  // unwatched earlier in this batch
      std::shared_ptr<IoHandler> handler = it->second.handler;  // outlives an unwatch inside it
      (*handler)(events[i].events);
    }
    run_timers();
    run_deferred();
    if (after_batch_) after_batch_();
  }
}

}  // namespace emailroute
