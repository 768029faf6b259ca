// A DnsLookup answered from a map, for the check-dns and SPF tests; it counts
// the questions so tests can pin how many lookups an evaluation makes.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compiler/dns_lookup.h"

namespace emailroute::test {

class FakeDns : public DnsLookup {
 public:
  /// Adds one record; `name` absolute with the trailing dot.
  FakeDns& add(const std::string& name, DnsType type, const std::string& value) {
    records_[{name, type}].push_back(value);
    names_.insert(name);
    return *this;
  }
  /// Every question about `name` fails, as SERVFAIL would.
  FakeDns& fail(const std::string& name) {
    failing_.insert(name);
    return *this;
  }
  LookupResult lookup(const std::string& name, DnsType type) override {
    ++questions;
    LookupResult r;
    if (failing_.count(name)) {
      r.status = LookupStatus::kFailed;
      r.error = "SERVFAIL";
      return r;
    }
    auto it = records_.find({name, type});
    if (it != records_.end()) {
      r.status = LookupStatus::kOk;
      r.values = it->second;
    } else {
      r.status = names_.count(name) ? LookupStatus::kNoData : LookupStatus::kNxDomain;
    }
    return r;
  }
  int questions = 0;

 private:
  std::map<std::pair<std::string, DnsType>, std::vector<std::string>> records_;
  std::set<std::string> names_, failing_;
};

}  // namespace emailroute::test
