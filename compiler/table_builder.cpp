#include "compiler/table_builder.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "compiler/trie_builder.h"
#include "runtime/table_format.h"

namespace emailroute {
namespace tf = table_format;
namespace {

class Builder {
 public:
  Result<std::string> build(const RoutingModel& model) {
    // The listen addresses come first: the format stores them as consecutive pool entries.
    std::uint32_t listen_first = static_cast<std::uint32_t>(strings_.size());
    for (const std::string& l : model.relay.listen) put_listen(l);

    std::vector<TrieEntry> entries;
    std::size_t address_count = 0;
    for (const ModelDomain& d : model.domains) address_count += d.addresses.size() + 1;
    entries.reserve(address_count);
    std::vector<std::size_t> block(model.domains.size() + 1);  // domain i's entries: [block[i], block[i+1])
    std::string domains;
    for (std::size_t i = 0; i < model.domains.size(); ++i) {
      const ModelDomain& d = model.domains[i];
      tf::put_u32(domains, string_ref(d.name));
      tf::put_u32(domains, d.catch_all ? route_ref(*d.catch_all) : tf::kAbsent);
      tf::put_u32(domains, string_ref(d.separators));
      block[i] = entries.size();
      std::string prefix = d.name + tf::kDomainEnd;
      entries.push_back({prefix, {}, {}, static_cast<std::uint32_t>(i)});
      for (const ModelAddress& a : d.addresses) {
        const std::string& last = entries.back().key;
        if (last.size() != prefix.size() + a.local.size() || std::string_view(last).substr(prefix.size()) != a.local) {
          std::string key;
          key.reserve(prefix.size() + a.local.size());
          key += prefix;
          key += a.local;
          entries.push_back({std::move(key), {}, {}, {}});
        }
        (a.wildcard ? entries.back().wildcard : entries.back().exact) = route_ref(a.route);
      }
    }
    block[model.domains.size()] = entries.size();
    std::string settings = encode_settings(model.relay, listen_first);
    // Each domain's block is already in key order (addresses are sorted by
    // (local, wildcard)); only the blocks need ordering, by "name@" rather
    // than by name ('.' sorts before '@'). No sort of a million strings.
    std::vector<std::size_t> order(model.domains.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return entries[block[a]].key < entries[block[b]].key; });
    std::vector<TrieEntry> sorted;
    sorted.reserve(entries.size());
    for (std::size_t i : order)
      for (std::size_t e = block[i]; e < block[i + 1]; ++e) sorted.push_back(std::move(entries[e]));
    entries = std::move(sorted);
    auto by_key = [](const TrieEntry& a, const TrieEntry& b) { return a.key < b.key; };
    if (!std::is_sorted(entries.begin(), entries.end(), by_key)) std::sort(entries.begin(), entries.end(), by_key);
    std::string trie = build_trie(entries);

    const std::string* sections[tf::kSectionCount] = {&strings_, &routes_, &domains, &settings, &trie};
    std::uint64_t total = tf::kHeaderSize;
    for (const std::string* s : sections) total += s->size();
    if (total > 0xFFFFFFFFu) return Status::invalid("the table would be larger than 4 GiB, the format's limit");

    std::string out(tf::kMagic, sizeof tf::kMagic);
    tf::put_u32(out, tf::kVersion);
    tf::put_u32(out, static_cast<std::uint32_t>(total));
    std::uint32_t offset = tf::kHeaderSize;
    for (const std::string* s : sections) {
      tf::put_u32(out, offset);
      tf::put_u32(out, static_cast<std::uint32_t>(s->size()));
      offset += static_cast<std::uint32_t>(s->size());
    }
    tf::put_u64(out, 0);  // checksum, filled in below
    for (const std::string* s : sections) out += *s;
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
    tf::store_u64(out, tf::kChecksumOffset, tf::checksum(bytes));
    return out;
  }

 private:
  void put_listen(const std::string& s) {
    string_refs_.emplace(s, StringEntry{static_cast<std::uint32_t>(strings_.size()), static_cast<std::uint32_t>(string_refs_.size())});
    tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
    strings_ += s;
  }

  struct StringEntry {
    std::uint32_t ref, ordinal;  // ordinal: 0, 1, 2... in pool order, for dense side tables
  };

  StringEntry string_entry(const std::string& s) {
    // Look up first: emplace() would allocate a node even for a string already pooled.
    if (auto it = string_refs_.find(s); it != string_refs_.end()) return it->second;
    StringEntry e{static_cast<std::uint32_t>(strings_.size()), static_cast<std::uint32_t>(string_refs_.size())};
    string_refs_.emplace(s, e);
    tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
    strings_ += s;
    return e;
  }

  std::uint32_t string_ref(const std::string& s) { return string_entry(s).ref; }

  std::uint32_t optional_ref(const std::string& s) { return s.empty() ? tf::kAbsent : string_ref(s); }

  std::uint32_t route_ref(const ModelRoute& r) {
    // Most routes forward to one address: find those by the destination's
    // ordinal in a vector instead of hashing the encoded route in a big map.
    if (r.action == RouteAction::kForward && r.destinations.size() == 1) {
      std::uint32_t ordinal = string_entry(r.destinations[0]).ordinal;
      if (ordinal >= single_forward_.size()) single_forward_.resize(ordinal + 1, tf::kAbsent);
      if (single_forward_[ordinal] == tf::kAbsent) {
        std::uint32_t ref = encoded_route_ref(r);
        single_forward_[ordinal] = ref;
      }
      return single_forward_[ordinal];
    }
    return encoded_route_ref(r);
  }

  std::uint32_t encoded_route_ref(const ModelRoute& r) {
    std::string& encoded = encoded_;  // reused: no allocation per route
    encoded.clear();
    switch (r.action) {
      case RouteAction::kForward:
        tf::put_u8(encoded, static_cast<std::uint8_t>(tf::RouteKind::kForward));
        tf::put_varint(encoded, static_cast<std::uint32_t>(r.destinations.size()));
        for (const std::string& d : r.destinations) tf::put_u32(encoded, string_ref(d));
        break;
      case RouteAction::kDrop:
        tf::put_u8(encoded, static_cast<std::uint8_t>(tf::RouteKind::kDrop));
        break;
      case RouteAction::kReject:
        if (r.message.empty()) {
          tf::put_u8(encoded, static_cast<std::uint8_t>(tf::RouteKind::kReject));
        } else {
          tf::put_u8(encoded, static_cast<std::uint8_t>(tf::RouteKind::kRejectWithMessage));
          tf::put_varint(encoded, string_ref(r.message));
        }
        break;
    }
    if (auto it = route_refs_.find(encoded); it != route_refs_.end()) return it->second;
    auto ref = static_cast<std::uint32_t>(routes_.size());
    route_refs_.emplace(encoded, ref);
    routes_ += encoded;
    return ref;
  }

  std::string encode_settings(const ModelRelay& r, std::uint32_t listen_first) {
    std::string s;
    tf::put_u32(s, string_ref(r.hostname));
    tf::put_u32(s, string_ref(r.srs_domain));
    tf::put_u32(s, string_ref(r.srs_secret_file));
    tf::put_u32(s, optional_ref(r.tls_certificate));
    tf::put_u32(s, optional_ref(r.tls_key));
    tf::put_u32(s, optional_ref(r.dns_resolver));
    tf::put_u32(s, optional_ref(r.deliver_via));
    tf::put_u32(s, listen_first);
    tf::put_u32(s, static_cast<std::uint32_t>(r.listen.size()));
    tf::put_u32(s, r.max_recipients);
    tf::put_u64(s, r.max_message_size);
    tf::put_u16(s, r.upstream_port);
    tf::put_u16(s, r.allow_private_destinations ? tf::kAllowPrivateDestinations : 0);
    tf::put_u32(s, 0);  // reserved
    return s;
  }

  std::string strings_, routes_, encoded_;
  std::unordered_map<std::string, StringEntry> string_refs_;
  std::unordered_map<std::string, std::uint32_t> route_refs_;
  std::vector<std::uint32_t> single_forward_;  // by destination ordinal: its one-destination route, or kAbsent
};

}  // namespace

Result<std::string> build_table(const RoutingModel& model) { return Builder().build(model); }

}  // namespace emailroute
