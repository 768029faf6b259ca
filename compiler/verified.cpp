#include "compiler/verified.h"

#include <fstream>
#include <set>

#include "runtime/address.h"

namespace emailroute {
namespace {

std::set<std::string> read_verified(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto last = line.find_last_not_of(" \t\r");
    out.insert(folded(std::string_view(line).substr(first, last - first + 1)));
  }
  return out;
}

}  // namespace

void check_verified(const RoutingModel& model, const std::string& verified_file, Diagnostics& diagnostics) {
  std::set<std::string> verified = read_verified(verified_file);
  std::set<std::string> reported;
  // Destinations in the config's own domains are left only where resolving
  // them already failed (a loop, a reject): that error is the one to fix.
  std::set<std::string> own_domains;
  for (const ModelDomain& d : model.domains) own_domains.insert(d.name);
  auto check = [&](const ModelRoute& r) {
    for (const ModelTarget& t : model.targets_of(r)) {
      const std::string& address = model.address(t);
      std::string key = folded(address);
      if (own_domains.count(key.substr(key.rfind('@') + 1))) continue;
      if (verified.count(key) || !reported.insert(key).second) continue;
      diagnostics.error(t.pos, "destination \"" + address + "\" is not verified (require_verified is true and " +
                                   verified_file + " does not list it)");
    }
  };
  for (const ModelDomain& d : model.domains) {
    for (const ModelAddress& a : d.addresses) check(a.route);
    if (d.catch_all) check(*d.catch_all);
  }
}

}  // namespace emailroute
