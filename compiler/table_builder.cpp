#include "compiler/table_builder.h"

#include <algorithm>
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
    std::string domains;
    for (std::size_t i = 0; i < model.domains.size(); ++i) {
      const ModelDomain& d = model.domains[i];
      tf::put_u32(domains, string_ref(d.name));
      tf::put_u32(domains, d.catch_all ? route_ref(*d.catch_all) : tf::kAbsent);
      tf::put_u32(domains, string_ref(d.separators));
      entries.push_back({d.name + tf::kDomainEnd, {}, {}, static_cast<std::uint32_t>(i)});
      for (const ModelAddress& a : d.addresses) {
        std::string key = d.name + tf::kDomainEnd + a.local;
        if (entries.back().key != key) entries.push_back({key, {}, {}, {}});
        (a.wildcard ? entries.back().wildcard : entries.back().exact) = route_ref(a.route);
      }
    }
    std::string settings = encode_settings(model.relay, listen_first);
    std::sort(entries.begin(), entries.end(), [](const TrieEntry& a, const TrieEntry& b) { return a.key < b.key; });
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
    string_refs_.emplace(s, static_cast<std::uint32_t>(strings_.size()));
    tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
    strings_ += s;
  }

  std::uint32_t string_ref(const std::string& s) {
    auto [it, fresh] = string_refs_.emplace(s, static_cast<std::uint32_t>(strings_.size()));
    if (fresh) {
      tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
      strings_ += s;
    }
    return it->second;
  }

  std::uint32_t optional_ref(const std::string& s) { return s.empty() ? tf::kAbsent : string_ref(s); }

  std::uint32_t route_ref(const ModelRoute& r) {
    std::string encoded;
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
    auto [it, fresh] = route_refs_.emplace(encoded, static_cast<std::uint32_t>(routes_.size()));
    if (fresh) routes_ += encoded;
    return it->second;
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

  std::string strings_, routes_;
  std::unordered_map<std::string, std::uint32_t> string_refs_, route_refs_;
};

}  // namespace

Result<std::string> build_table(const RoutingModel& model) { return Builder().build(model); }

}  // namespace emailroute
