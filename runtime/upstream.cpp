// A destination connection; see upstream.h.
#include "runtime/upstream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace emailroute {

Upstream::Upstream(EventLoop& loop, Endpoint endpoint, std::string helo_name, std::function<void()> on_event)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      helo_name_(helo_name),
      session_(std::move(helo_name)),
      on_event_(std::move(on_event)) {}

Upstream::~Upstream() { close_socket(); }

void Upstream::close_socket() {
  if (fd_ < 0) return;
  loop_.close_watched(token_);
  fd_ = -1;
}

void Upstream::start() {
  last_activity_ = EventLoop::now_ms();
  Result<int> fd = connect_to(endpoint_);
  if (!fd.ok()) return session_.fail(fd.status().message());
  fd_ = *fd;
  connecting_ = true;
  Result<EventLoop::Token> t = loop_.watch(fd_, EPOLLOUT, [this](std::uint32_t ev) { on_io(ev); });
  if (!t.ok()) {
    close(fd_);
    fd_ = -1;
    return session_.fail(t.status().message());
  }
  token_ = *t;
  session_.note_time(last_activity_);
}

void Upstream::on_io(std::uint32_t events) {
  // The owner when the event came is told, even if a callback below hands
  // this connection to a new owner (its sender still needs the answer).
  std::function<void()> on_event = on_event_;
  if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
    connecting_ = false;
    if (error != 0) {
      close_socket();
      session_.fail("cannot connect to " + endpoint_.text + ": " + std::strerror(error));
    } else {
      last_activity_ = EventLoop::now_ms();
      session_.connected();
    }
  } else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    char buf[16 * 1024];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n > 0) {
      last_activity_ = EventLoop::now_ms();
      session_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close_socket();
      session_.fail(n == 0 ? "destination closed the connection" : "destination connection broke");
    }
  }
  flush();
  on_event();
}

void Upstream::flush() {
  if (fd_ < 0) return;
  if (session_.state() == ClientSession::State::kFailed) {
    session_.note_time(EventLoop::now_ms());
    return close_socket();
  }
  std::string& out = session_.output();
  if (!connecting_) {
    std::size_t written = 0;
    while (written < out.size()) {
      ssize_t n = send(fd_, out.data() + written, out.size() - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
        last_activity_ = EventLoop::now_ms();
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n < 0 && errno != EAGAIN) {
          out.clear();
          close_socket();
          return session_.fail("destination connection broke while writing");
        }
        break;
      }
    }
    out.erase(0, written);
  }
  session_.note_time(EventLoop::now_ms());
  if (session_.state() == ClientSession::State::kClosed && out.empty()) return close_socket();
  std::uint32_t want = connecting_ ? EPOLLOUT : EPOLLIN;
  if (!connecting_ && !out.empty()) want |= EPOLLOUT;
  loop_.modify(token_, want);
}

void Upstream::quit_now() {
  if (fd_ >= 0 && !connecting_ && session_.idle()) {
    session_.quit();
    flush();
  }
  close_socket();
}

}  // namespace emailroute
