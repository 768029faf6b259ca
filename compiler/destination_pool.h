// Checks each destination text once and gives it its index in
// RoutingModel::destinations. A big spec writes the same few thousand
// destinations a million times; parsing, folding and pooling each of them per
// address was most of the compile time.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "compiler/routing_model.h"

namespace emailroute {

class DestinationPool {
 public:
  /// What a destination text, as written, comes to.
  struct Checked {
    const std::string* why;     // null when valid; otherwise why it is not a valid address
    std::uint32_t destination;  // when valid: its index in the model's destinations
  };

  explicit DestinationPool(std::vector<ModelDestination>& destinations) : destinations_(destinations) {}

  /// The answer for `written`; `why` points at a string valid until the next call.
  Checked check(std::string_view written);

 private:
  static constexpr std::uint32_t kValid = 0xFFFFFFFF;
  struct Written {
    std::size_t begin, end;     // the text is texts_[begin, end)
    std::uint32_t destination;  // when valid
    std::uint32_t why;          // kValid, or an index into whys_
  };
  struct Slot {
    std::uint32_t hash = 0, index = 0;  // index + 1 into written_; 0: empty
  };

  Checked add_written(std::string_view text);
  Checked answer(const Written& w) const { return {w.why == kValid ? nullptr : &whys_[w.why], w.destination}; }
  std::uint32_t add_destination(std::string address);
  void grow();

  std::vector<ModelDestination>& destinations_;
  // The texts met so far, each once. This is looked up once per destination
  // of every address: an open-addressing table over small contiguous arrays
  // stays in cache, where std::unordered_map's nodes, spread over a heap that
  // holds the whole spec, cost a cache miss or two per lookup.
  std::string texts_;
  std::vector<Written> written_;
  std::vector<Slot> slots_;  // a power of two long, at most half full
  std::vector<std::string> whys_;
  // Per distinct destination only: its plain form, and folded, to its index.
  std::unordered_map<std::string, std::uint32_t> exact_, folded_;
};

}  // namespace emailroute
