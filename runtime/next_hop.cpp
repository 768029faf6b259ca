// The smarthost and the MX next hop; see next_hop.h.
#include "runtime/next_hop.h"

#include "runtime/mx_plan.h"

namespace emailroute {
namespace {

class Smarthost : public NextHop {
 public:
  explicit Smarthost(Endpoint e) : endpoint_(std::move(e)), description_("deliver_via " + endpoint_.text) {}
  void find(std::string_view, Done done) override { done(std::vector<Endpoint>{endpoint_}); }
  const std::string& description() const override { return description_; }

 private:
  Endpoint endpoint_;
  std::string description_;
};

class MxNextHop : public NextHop {
 public:
  MxNextHop(MxPlanner& planner, std::string description) : planner_(planner), description_(std::move(description)) {}
  void find(std::string_view destination, Done done) override {
    // Destinations were validated at compile time: the domain follows the last '@'.
    std::size_t at = destination.rfind('@');
    planner_.plan(at == std::string_view::npos ? destination : destination.substr(at + 1), std::move(done));
  }
  const std::string& description() const override { return description_; }

 private:
  MxPlanner& planner_;
  std::string description_;
};

}  // namespace

std::unique_ptr<NextHop> make_smarthost(Endpoint smarthost) { return std::make_unique<Smarthost>(std::move(smarthost)); }

std::unique_ptr<NextHop> make_mx_next_hop(MxPlanner& planner, std::string description) {
  return std::make_unique<MxNextHop>(planner, std::move(description));
}

std::string next_hop_failure_reply(const Status& status) {
  switch (status.code()) {
    case Status::Code::kNotFound: return "550 5.1.2 Destination domain not found";
    case Status::Code::kInvalid: return "556 5.1.10 Destination domain does not accept mail (null MX)";
    case Status::Code::kCorruption: return "550 5.4.4 Destination mail servers are on addresses we do not deliver to";
    case Status::Code::kOk:
    case Status::Code::kIoError: break;
  }
  return "451 4.4.3 Destination not reachable now, try again later";
}

}  // namespace emailroute
