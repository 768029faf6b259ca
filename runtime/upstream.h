// One connection to a destination server: the socket, its registration in
// the event loop, and the ClientSession that speaks SMTP over it. The owner
// (an Inbound) is told after every event so it can pass answers on to its
// sender and adjust backpressure.
//
// SECURITY: the destination is not trusted: what it sends goes to the
// ClientSession's bounded parser; reads are bounded by one buffer per event.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "runtime/client_session.h"
#include "runtime/event_loop.h"
#include "runtime/net.h"

namespace emailroute {

class Upstream {
 public:
  /// REQUIRES: `loop` outlives this object. `on_event` runs after each event.
  Upstream(EventLoop& loop, Endpoint endpoint, std::string helo_name, std::function<void()> on_event);
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;
  /// Closes the socket without calling back (pending requests are dropped).
  ~Upstream();

  /// Starts connecting; on failure the session is failed with the reason.
  void start();
  /// Writes what the session produced and updates what the loop watches.
  void flush();
  /// Sends QUIT (best effort, one write) and closes.
  void quit_now();

  ClientSession& session() { return session_; }
  /// Hands the connection to a new owner (the pool, or a transaction).
  void set_on_event(std::function<void()> on_event) { on_event_ = std::move(on_event); }
  const std::string& helo_name() const { return helo_name_; }
  const std::string& endpoint() const { return endpoint_.text; }
  /// Taken from the pool: it served a transaction before (the server may have
  /// given up on it since).
  bool reused() const { return reused_; }
  void mark_reused() { reused_ = true; }
  /// Milliseconds (EventLoop::now_ms) of the last byte read or written.
  std::int64_t last_activity() const { return last_activity_; }

 private:
  void on_io(std::uint32_t events);
  void close_socket();

  EventLoop& loop_;
  Endpoint endpoint_;
  std::string helo_name_;
  ClientSession session_;
  std::function<void()> on_event_;
  int fd_ = -1;
  EventLoop::Token token_ = 0;
  bool connecting_ = false;
  bool reused_ = false;
  std::int64_t last_activity_ = 0;
};

}  // namespace emailroute
