#include "compiler/destination_pool.h"

#include <functional>

#include "runtime/address.h"

namespace emailroute {

DestinationPool::Checked DestinationPool::check(std::string_view written) {
  if (2 * (written_.size() + 1) > slots_.size()) grow();
  auto hash = static_cast<std::uint32_t>(std::hash<std::string_view>{}(written));
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {  // linear probing
    Slot& slot = slots_[i];
    if (slot.index == 0) {
      slot = {hash, static_cast<std::uint32_t>(written_.size() + 1)};
      return add_written(written);
    }
    if (slot.hash != hash) continue;
    const Written& w = written_[slot.index - 1];
    if (std::string_view(texts_.data() + w.begin, w.end - w.begin) == written) return answer(w);
  }
}

DestinationPool::Checked DestinationPool::add_written(std::string_view text) {
  Written w{texts_.size(), texts_.size() + text.size(), 0, kValid};
  texts_ += text;
  std::string why;
  auto box = parse_mailbox(text);
  if (!box.ok()) why = box.status().message();
  else if (box->quoted) why = "quoted local parts are not supported in destinations";
  else if (box->domain.front() == '[') why = "the domain must be a name, not an address literal";
  else if (box->local.size() > kMaxLocalPartLength) why = "local part longer than 64 octets";
  if (!why.empty()) {
    w.why = static_cast<std::uint32_t>(whys_.size());
    whys_.push_back(std::move(why));
  } else {
    // "\"ab\"@x" is ab@x: keep the plain form, the one the relay sends.
    w.destination = add_destination(box->local + "@" + box->domain);
  }
  written_.push_back(w);
  return answer(w);
}

std::uint32_t DestinationPool::add_destination(std::string address) {
  if (auto it = exact_.find(address); it != exact_.end()) return it->second;
  auto index = static_cast<std::uint32_t>(destinations_.size());
  std::uint32_t first_folded = folded_.emplace(folded(address), index).first->second;
  exact_.emplace(address, index);
  destinations_.push_back({std::move(address), first_folded});
  return index;
}

void DestinationPool::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : 2 * old.size(), Slot{});
  std::size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.index == 0) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].index != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace emailroute
