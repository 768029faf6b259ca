#include "compiler/table_builder.h"

#include <algorithm>
#include <span>
#include <string_view>
#include <unordered_map>

#include "compiler/trie_builder.h"
#include "runtime/table_format.h"

namespace emailroute {
namespace tf = table_format;
namespace {

class Builder {
 public:
  explicit Builder(const RoutingModel& model)
      : model_(model), destination_refs_(model.destinations.size(), tf::kAbsent),
        single_forward_(model.destinations.size(), tf::kAbsent) {}

  Result<std::string> build() {
    // The listen addresses come first: the format stores them as consecutive pool entries.
    std::uint32_t listen_first = static_cast<std::uint32_t>(strings_.size());
    for (const std::string& l : model_.relay.listen) put_listen(l);

    // The pool and the routes fill in the order the format gives: the domains
    // by name, each with its addresses in key order, then the settings.
    std::vector<std::uint32_t> address_routes;  // every address's route ref, domain after domain
    std::size_t key_bytes = 0;                  // of all the trie's keys
    std::string domains = encode_domains(address_routes, key_bytes);
    std::string settings = encode_settings(model_.relay, listen_first);

    // One output buffer: the header (filled in last), the sections, then the
    // trie written straight after them. Reserved for a trie as large as all
    // its keys and a few bytes per node (more than it takes: pages never
    // written cost no memory), so that it does not move while it grows.
    std::string out(tf::kHeaderSize, '\0');
    const std::size_t fixed = strings_.size() + routes_.size() + domains.size() + settings.size();
    out.reserve(tf::kHeaderSize + fixed + key_bytes + 16 * (address_routes.size() + model_.domains.size()));
    for (const std::string* s : {&strings_, &routes_, &domains, &settings}) out += *s;
    if (!write_trie(address_routes, out)) return Status::invalid("internal error: the model's keys are not sorted and unique");
    if (out.size() > 0xFFFFFFFFu) return Status::invalid("the table would be larger than 4 GiB, the format's limit");

    const std::size_t sizes[tf::kSectionCount] = {strings_.size(), routes_.size(), domains.size(), settings.size(),
                                                  out.size() - tf::kHeaderSize - fixed};
    std::string header(tf::kMagic, sizeof tf::kMagic);
    tf::put_u32(header, tf::kVersion);
    tf::put_u32(header, static_cast<std::uint32_t>(out.size()));
    std::uint32_t offset = tf::kHeaderSize;
    for (std::size_t size : sizes) {
      tf::put_u32(header, offset);
      tf::put_u32(header, static_cast<std::uint32_t>(size));
      offset += static_cast<std::uint32_t>(size);
    }
    tf::put_u64(header, 0);  // checksum, filled in below
    out.replace(0, header.size(), header);
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
    tf::store_u64(out, tf::kChecksumOffset, tf::checksum(bytes));
    return out;
  }

 private:
  std::string encode_domains(std::vector<std::uint32_t>& address_routes, std::size_t& key_bytes) {
    std::string out;
    std::size_t address_count = 0;
    for (const ModelDomain& d : model_.domains) address_count += d.addresses.size();
    address_routes.reserve(address_count);
    for (const ModelDomain& d : model_.domains) {
      tf::put_u32(out, string_ref(d.name));
      tf::put_u32(out, d.catch_all ? route_ref(*d.catch_all) : tf::kAbsent);
      tf::put_u32(out, string_ref(d.separators));
      key_bytes += (d.name.size() + 1) * (d.addresses.size() + 1);
      for (const ModelAddress& a : d.addresses) {
        address_routes.push_back(route_ref(a.route));
        key_bytes += a.local.size();
      }
    }
    return out;
  }

  // Hands the trie its keys in ascending order: "name@", then "name@local"
  // for each address. Each domain's addresses are in key order already
  // (sorted by (local, wildcard)); only the domains need ordering, by "name@"
  // rather than by name ('.' sorts before '@'). So there is no sort of a
  // million keys, and no key is kept: each is built in one reused buffer.
  bool write_trie(const std::vector<std::uint32_t>& address_routes, std::string& out) {
    const std::vector<ModelDomain>& domains = model_.domains;
    std::vector<std::string> domain_keys;
    std::vector<std::size_t> first_route;  // domain i's routes start at address_routes[first_route[i]]
    std::size_t routes_before = 0;
    for (const ModelDomain& d : domains) {
      domain_keys.push_back(d.name + tf::kDomainEnd);
      first_route.push_back(routes_before);
      routes_before += d.addresses.size();
    }
    std::vector<std::size_t> order(domains.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return domain_keys[a] < domain_keys[b]; });

    TrieWriter trie(out);
    std::string key;
    for (std::size_t i : order) {
      TrieValue domain;
      domain.domain = static_cast<std::uint32_t>(i);
      if (!trie.add(domain_keys[i], domain)) return false;
      const std::vector<ModelAddress>& addresses = domains[i].addresses;
      const std::uint32_t* route = address_routes.data() + first_route[i];
      for (std::size_t a = 0; a < addresses.size();) {
        // "x" and "x*" have the same key: one node carries both routes.
        const std::string& local = addresses[a].local;
        TrieValue value;
        for (; a < addresses.size() && addresses[a].local == local; ++a) {
          (addresses[a].wildcard ? value.wildcard : value.exact) = *route++;
        }
        key.assign(domain_keys[i]).append(local);
        if (!trie.add(key, value)) return false;
      }
    }
    trie.finish();
    return true;
  }

  void put_listen(const std::string& s) {
    string_refs_.emplace(s, static_cast<std::uint32_t>(strings_.size()));
    tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
    strings_ += s;
  }

  std::uint32_t string_ref(const std::string& s) {
    // Look up first: emplace() would allocate a node even for a string already pooled.
    if (auto it = string_refs_.find(s); it != string_refs_.end()) return it->second;
    auto ref = static_cast<std::uint32_t>(strings_.size());
    string_refs_.emplace(s, ref);
    tf::put_varint(strings_, static_cast<std::uint32_t>(s.size()));
    strings_ += s;
    return ref;
  }

  std::uint32_t optional_ref(const std::string& s) { return s.empty() ? tf::kAbsent : string_ref(s); }

  // The pool ref of a model destination: hashed once, then found by index.
  std::uint32_t destination_ref(std::uint32_t destination) {
    std::uint32_t& ref = destination_refs_[destination];
    if (ref == tf::kAbsent) ref = string_ref(model_.destinations[destination].address);
    return ref;
  }

  std::uint32_t route_ref(const ModelRoute& r) {
    // Most routes forward to one address: find those by the destination's
    // index in a vector instead of hashing the encoded route in a big map.
    if (r.action == RouteAction::kForward && r.count == 1) {
      std::uint32_t& ref = single_forward_[model_.targets[r.first].destination];
      if (ref == tf::kAbsent) ref = encoded_route_ref(r);
      return ref;
    }
    return encoded_route_ref(r);
  }

  std::uint32_t encoded_route_ref(const ModelRoute& r) {
    std::string& encoded = encoded_;  // reused: no allocation per route
    encoded.clear();
    switch (r.action) {
      case RouteAction::kForward:
        tf::put_u8(encoded, static_cast<std::uint8_t>(tf::RouteKind::kForward));
        tf::put_varint(encoded, r.count);
        for (const ModelTarget& t : model_.targets_of(r)) tf::put_u32(encoded, destination_ref(t.destination));
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

  const RoutingModel& model_;
  std::string strings_, routes_, encoded_;
  std::unordered_map<std::string, std::uint32_t> string_refs_;
  std::unordered_map<std::string, std::uint32_t> route_refs_;
  std::vector<std::uint32_t> destination_refs_;  // by destination index: its string ref, or kAbsent
  std::vector<std::uint32_t> single_forward_;    // by destination index: its one-destination route, or kAbsent
};

}  // namespace

Result<std::string> build_table(const RoutingModel& model) { return Builder(model).build(); }

}  // namespace emailroute
