// The event loop: readiness on a pipe, timers in deadline order, cancelled
// timers, deferred calls, and a handler that unwatches itself.
#include "runtime/event_loop.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace emailroute {
namespace {

TEST_CASE("runs timers in deadline order and skips cancelled ones") {
  EventLoop loop;
  REQUIRE(loop.init().ok());
  std::vector<int> fired;
  loop.add_timer(30, [&] { fired.push_back(3); loop.stop(); });
  loop.add_timer(10, [&] { fired.push_back(1); });
  EventLoop::TimerId cancelled = loop.add_timer(20, [&] { fired.push_back(2); });
  loop.cancel_timer(cancelled);
  loop.run();
  CHECK(fired == std::vector<int>{1, 3});
}

TEST_CASE("reports a readable pipe and lets a handler unwatch itself") {
  EventLoop loop;
  REQUIRE(loop.init().ok());
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::string got;
  EventLoop::Token token = 0;
  Result<EventLoop::Token> t = loop.watch(fds[0], EPOLLIN, [&](std::uint32_t) {
    char buf[16];
    ssize_t n = read(fds[0], buf, sizeof buf);
    got.append(buf, static_cast<std::size_t>(n));
    loop.unwatch(token);  // the handler object must survive its own removal
    loop.defer([&] { loop.stop(); });
  });
  REQUIRE(t.ok());
  token = *t;
  REQUIRE(write(fds[1], "hi", 2) == 2);
  loop.add_timer(2000, [&] { loop.stop(); });  // a bound, should the event never come
  loop.run();
  CHECK(got == "hi");
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace emailroute
