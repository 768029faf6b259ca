// The smarthost and the unroutable next hop; see next_hop.h.
#include "runtime/next_hop.h"

namespace emailroute {
namespace {

class Smarthost : public NextHop {
 public:
  explicit Smarthost(Endpoint e) : endpoint_(std::move(e)) {}
  void find(std::string_view, Done done) override { done(endpoint_); }

 private:
  Endpoint endpoint_;
};

class Unroutable : public NextHop {
 public:
  explicit Unroutable(std::string why) : why_(std::move(why)) {}
  void find(std::string_view, Done done) override { done(Status::io_error(why_)); }

 private:
  std::string why_;
};

}  // namespace

std::unique_ptr<NextHop> make_smarthost(Endpoint smarthost) { return std::make_unique<Smarthost>(std::move(smarthost)); }

std::unique_ptr<NextHop> make_unroutable(std::string why) { return std::make_unique<Unroutable>(std::move(why)); }

std::string next_hop_failure_reply(const Status& status) {
  if (status.code() == Status::Code::kNotFound) return "550 5.1.2 Destination domain not found";
  return "451 4.4.3 Destination not reachable now, try again later";
}

}  // namespace emailroute
