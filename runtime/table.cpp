#include "runtime/table.h"

#include <algorithm>
#include <cstring>

#include "runtime/address.h"

namespace emailroute {
namespace tf = table_format;
namespace {

// One decoded trie node; views point into the table.
struct Node {
  std::uint8_t flags = 0;
  std::string_view label;
  std::uint32_t exact = 0, wildcard = 0, domain = 0;
  std::size_t child_count = 0;
  const std::uint8_t* keys = nullptr;
  const std::uint8_t* offsets = nullptr;
  int width = 0;

  std::size_t child_offset(std::size_t i) const { return tf::get_fixed(offsets + i * width, width); }
};

// Decodes the node at `pos`; false when it does not fit in the section.
// `end`, when given, receives the position just past the node.
bool parse_node(std::span<const std::uint8_t> trie, std::size_t pos, Node& n, std::size_t* end = nullptr) {
  tf::Cursor c(trie, pos);
  if (!c.read_u8(n.flags) || (n.flags & tf::kNodeReserved) != 0) return false;
  if (n.flags & tf::kNodeLabel) {
    std::uint32_t len;
    if (!c.read_varint(len) || len == 0 || !c.read_bytes(n.label, len)) return false;
  } else {
    n.label = {};
  }
  if ((n.flags & tf::kNodeExact) && !c.read_varint(n.exact)) return false;
  if ((n.flags & tf::kNodeWildcard) && !c.read_varint(n.wildcard)) return false;
  if ((n.flags & tf::kNodeDomain) && !c.read_varint(n.domain)) return false;
  n.child_count = 0;
  n.width = ((n.flags >> tf::kNodeWidthShift) & 0x3) + 1;
  if (n.flags & tf::kNodeChildren) {
    std::uint8_t count_minus_one;
    if (!c.read_u8(count_minus_one)) return false;
    n.child_count = std::size_t{count_minus_one} + 1;
    std::string_view keys, offsets;
    if (!c.read_bytes(keys, n.child_count) || !c.read_bytes(offsets, n.child_count * n.width)) return false;
    n.keys = reinterpret_cast<const std::uint8_t*>(keys.data());
    n.offsets = reinterpret_cast<const std::uint8_t*>(offsets.data());
  }
  if (end != nullptr) *end = c.pos();
  return true;
}

// Strings that reach logs or the network carry no control characters.
bool is_clean_text(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return is_valid_utf8(s);
}

Status corrupt(const std::string& why) { return Status::corruption("not an emailroute table (" + why + ")"); }

}  // namespace

std::string_view Route::destination(std::size_t i) const {
  auto ref = static_cast<std::size_t>(tf::get_fixed(refs_ + 4 * i, 4));
  tf::Cursor c(strings_, ref);
  std::uint32_t len = 0;
  std::string_view s;
  if (!c.read_varint(len) || !c.read_bytes(s, len)) return {};
  return s;
}

Result<Table> Table::open(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file.ok()) return file.status();
  Table t;
  t.bytes_ = file->bytes();
  t.storage_ = std::move(*file);
  if (Status s = t.validate(); !s.ok()) return Status::corruption(path + ": " + s.message());
  return t;
}

Result<Table> Table::from_bytes(std::vector<std::uint8_t> bytes) {
  Table t;
  t.bytes_ = std::span<const std::uint8_t>(bytes.data(), bytes.size());
  t.storage_ = std::move(bytes);  // moving a vector keeps its buffer, so bytes_ stays valid
  if (Status s = t.validate(); !s.ok()) return s;
  return t;
}

std::span<const std::uint8_t> Table::section(tf::Section s) const {
  auto i = static_cast<std::size_t>(s);
  return bytes_.subspan(section_offset_[i], section_size_[i]);
}

std::string_view Table::string_at(std::uint32_t ref) const {
  if (ref == tf::kAbsent) return {};
  tf::Cursor c(section(tf::Section::kStrings), ref);
  std::uint32_t len = 0;
  std::string_view s;
  if (!c.read_varint(len) || !c.read_bytes(s, len)) return {};
  return s;
}

Route Table::route_at(std::uint32_t ref) const {
  Route r;
  r.strings_ = section(tf::Section::kStrings);
  tf::Cursor c(section(tf::Section::kRoutes), ref);
  std::uint8_t kind = 0;
  if (!c.read_u8(kind)) return r;
  switch (static_cast<tf::RouteKind>(kind)) {
    case tf::RouteKind::kForward: {
      std::uint32_t count = 0;
      std::string_view refs;
      if (!c.read_varint(count) || !c.read_bytes(refs, std::size_t{count} * 4)) return r;
      r.action_ = RouteAction::kForward;
      r.count_ = count;
      r.refs_ = reinterpret_cast<const std::uint8_t*>(refs.data());
      return r;
    }
    case tf::RouteKind::kDrop:
      r.action_ = RouteAction::kDrop;
      return r;
    case tf::RouteKind::kReject:
      r.action_ = RouteAction::kReject;
      return r;
    case tf::RouteKind::kRejectWithMessage: {
      std::uint32_t message = 0;
      r.action_ = RouteAction::kReject;
      if (c.read_varint(message)) r.message_ = string_at(message);
      return r;
    }
  }
  return r;
}

// --- validation ------------------------------------------------------------

Status Table::validate() {
  if (bytes_.size() < tf::kHeaderSize) return corrupt("file is " + std::to_string(bytes_.size()) + " bytes, shorter than the header");
  if (std::memcmp(bytes_.data(), tf::kMagic, sizeof tf::kMagic) != 0) return corrupt("bad magic number");
  auto version = tf::get_fixed(bytes_.data() + 8, 4);
  if (version != tf::kVersion) {
    return corrupt("format version " + std::to_string(version) + ", this emailroute reads version " + std::to_string(tf::kVersion));
  }
  auto file_size = tf::get_fixed(bytes_.data() + 12, 4);
  if (file_size != bytes_.size()) {
    return corrupt("header says " + std::to_string(file_size) + " bytes, file has " + std::to_string(bytes_.size()) + " (truncated?)");
  }
  // Sections follow the header back to back, in order, and end at the end of the file.
  std::size_t expected = tf::kHeaderSize;
  for (std::size_t i = 0; i < tf::kSectionCount; ++i) {
    section_offset_[i] = tf::get_fixed(bytes_.data() + 16 + 8 * i, 4);
    section_size_[i] = tf::get_fixed(bytes_.data() + 20 + 8 * i, 4);
    if (section_offset_[i] != expected || section_size_[i] > bytes_.size() - expected) {
      return corrupt("section " + std::to_string(i) + " out of place");
    }
    expected += section_size_[i];
  }
  if (expected != bytes_.size()) return corrupt("trailing bytes after the last section");
  if (tf::get_fixed(bytes_.data() + tf::kChecksumOffset, 8) != tf::checksum(bytes_)) return corrupt("bad checksum");

  domain_count_ = section_size_[static_cast<std::size_t>(tf::Section::kDomains)] / tf::kDomainRecordSize;
  std::vector<bool> string_starts, route_starts;
  if (Status s = validate_strings(string_starts); !s.ok()) return s;
  if (Status s = validate_routes(string_starts, route_starts); !s.ok()) return s;
  if (Status s = validate_domains(string_starts, route_starts); !s.ok()) return s;
  if (Status s = validate_settings(string_starts); !s.ok()) return s;
  return validate_trie(route_starts);
}

Status Table::validate_strings(std::vector<bool>& starts) const {
  auto strings = section(tf::Section::kStrings);
  starts.assign(strings.size(), false);
  tf::Cursor c(strings, 0);
  while (c.remaining() > 0) {
    starts[c.pos()] = true;
    std::uint32_t len = 0;
    std::string_view s;
    if (!c.read_varint(len) || !c.read_bytes(s, len)) return corrupt("string pool entry runs past its section");
    if (!is_clean_text(s)) return corrupt("control character or bad UTF-8 in string pool");
  }
  return Status();
}

Status Table::validate_routes(const std::vector<bool>& strings, std::vector<bool>& starts) const {
  auto routes = section(tf::Section::kRoutes);
  starts.assign(routes.size(), false);
  tf::Cursor c(routes, 0);
  auto is_string = [&](std::uint64_t ref) { return ref < strings.size() && strings[ref]; };
  while (c.remaining() > 0) {
    starts[c.pos()] = true;
    std::uint8_t kind = 0;
    c.read_u8(kind);
    switch (kind) {
      case static_cast<std::uint8_t>(tf::RouteKind::kForward): {
        std::uint32_t count = 0;
        if (!c.read_varint(count) || count == 0 || count > c.remaining() / 4) return corrupt("bad destination count");
        for (std::uint32_t i = 0; i < count; ++i) {
          std::uint64_t ref = 0;
          c.read_fixed(ref, 4);
          if (!is_string(ref)) return corrupt("destination reference out of range");
          auto box = parse_mailbox(string_at(static_cast<std::uint32_t>(ref)));
          if (!box.ok() || box->quoted) return corrupt("destination is not a valid address");
        }
        break;
      }
      case static_cast<std::uint8_t>(tf::RouteKind::kDrop):
      case static_cast<std::uint8_t>(tf::RouteKind::kReject):
        break;
      case static_cast<std::uint8_t>(tf::RouteKind::kRejectWithMessage): {
        std::uint32_t ref = 0;
        if (!c.read_varint(ref) || !is_string(ref)) return corrupt("reject message reference out of range");
        break;
      }
      default:
        return corrupt("unknown route kind " + std::to_string(kind));
    }
  }
  return Status();
}

Status Table::validate_domains(const std::vector<bool>& strings, const std::vector<bool>& routes) const {
  auto domains = section(tf::Section::kDomains);
  if (domains.size() % tf::kDomainRecordSize != 0) return corrupt("domain section size not a multiple of 12");
  std::string_view previous;
  for (std::size_t i = 0; i < domain_count_; ++i) {
    const std::uint8_t* rec = domains.data() + i * tf::kDomainRecordSize;
    auto name = tf::get_fixed(rec, 4), catch_all = tf::get_fixed(rec + 4, 4), separators = tf::get_fixed(rec + 8, 4);
    if (name >= strings.size() || !strings[name] || separators >= strings.size() || !strings[separators]) {
      return corrupt("domain string reference out of range");
    }
    if (catch_all != tf::kAbsent && (catch_all >= routes.size() || !routes[catch_all])) {
      return corrupt("catch-all route reference out of range");
    }
    std::string_view n = string_at(static_cast<std::uint32_t>(name));
    if (!check_domain(n).ok() || folded(n) != n) return corrupt("invalid domain name in domain section");
    if (i > 0 && !(previous < n)) return corrupt("domains not sorted");
    previous = n;
  }
  return Status();
}

Status Table::validate_settings(const std::vector<bool>& strings) const {
  auto settings = section(tf::Section::kSettings);
  if (settings.size() != tf::kSettingsSize) return corrupt("settings section has the wrong size");
  auto field = [&](std::size_t at) { return tf::get_fixed(settings.data() + at, 4); };
  auto is_string = [&](std::uint64_t ref) { return ref < strings.size() && strings[ref]; };
  for (std::size_t at = 0; at < 28; at += 4) {
    bool required = at < 12;  // hostname, srs_domain, srs_secret_file
    if (field(at) == tf::kAbsent ? required : !is_string(field(at))) return corrupt("settings string reference out of range");
  }
  if (!check_domain(string_at(static_cast<std::uint32_t>(field(0)))).ok() ||
      !check_domain(string_at(static_cast<std::uint32_t>(field(4)))).ok()) {
    return corrupt("invalid hostname or srs_domain");
  }
  // Values the relay would misbehave with are refused here too, not only by the compiler.
  auto u16 = [&](std::size_t at) { return tf::get_fixed(settings.data() + at, 2); };
  if (field(36) == 0 || tf::get_fixed(settings.data() + 40, 8) == 0 || u16(48) == 0) {
    return corrupt("max_recipients, max_message_size or upstream_port is zero");
  }
  if ((u16(50) & ~tf::kAllowPrivateDestinations) != 0 || field(52) != 0) return corrupt("reserved settings bits set");
  // The listen addresses are `count` consecutive pool entries from `first`.
  auto first = field(28), count = field(32);
  if (count == 0 || count > 64 || !is_string(first)) return corrupt("bad listen list");
  tf::Cursor c(section(tf::Section::kStrings), first);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    std::string_view s;
    if (!c.read_varint(len) || !c.read_bytes(s, len)) return corrupt("listen list runs past the string pool");
  }
  return Status();
}

Status Table::validate_trie(const std::vector<bool>& routes) {
  auto trie = section(tf::Section::kTrie);
  // height[pos]: 0 when no node starts at pos, else 1 + the longest key suffix
  // the node and its subtree spell. Bounding it by the longest possible key, and
  // giving every node at most one parent, keeps the trie a tree whose walks
  // (dump's recursive one included) are linear and shallow.
  constexpr std::size_t kMaxKey = kMaxDomainLength + 1 + kMaxLocalPartLength;
  std::vector<std::uint16_t> height(trie.size(), 0);
  std::vector<bool> has_parent(trie.size(), false);
  tf::Cursor head(trie, 0);
  std::uint64_t root = 0;
  if (!head.read_fixed(root, 4)) return corrupt("trie section too short");
  auto is_route = [&](std::uint32_t ref) { return ref < routes.size() && routes[ref]; };
  // Nodes are stored children first, so every child a node names must already
  // have been seen: offsets point strictly backwards and the walk terminates.
  std::size_t pos = 4;
  while (pos < trie.size()) {
    Node n;
    std::size_t end = 0;
    if (!parse_node(trie, pos, n, &end)) return corrupt("trie node runs past its section");
    if ((n.flags & tf::kNodeExact) && !is_route(n.exact)) return corrupt("trie route reference out of range");
    if ((n.flags & tf::kNodeWildcard) && !is_route(n.wildcard)) return corrupt("trie route reference out of range");
    if ((n.flags & tf::kNodeDomain) && n.domain >= domain_count_) return corrupt("trie domain index out of range");
    std::size_t below = 0;
    for (std::size_t i = 0; i < n.child_count; ++i) {
      if (i > 0 && n.keys[i] <= n.keys[i - 1]) return corrupt("trie child keys not sorted");
      std::size_t off = n.child_offset(i);
      if (off == 0 || off > pos || height[pos - off] == 0) return corrupt("trie child offset does not point at an earlier node");
      if (has_parent[pos - off]) return corrupt("trie node with two parents");
      has_parent[pos - off] = true;
      below = std::max<std::size_t>(below, height[pos - off]);  // the child's key byte plus its subtree
    }
    if (n.label.size() + below > kMaxKey) return corrupt("trie deeper than the longest address");
    height[pos] = static_cast<std::uint16_t>(1 + n.label.size() + below);
    pos = end;
  }
  if (root >= trie.size() || height[root] == 0) return corrupt("trie root does not point at a node");
  root_ = static_cast<std::uint32_t>(root);
  return Status();
}

// --- lookup ------------------------------------------------------------------

Resolution Table::resolve(std::string_view local, std::string_view domain) const {
  Resolution r;
  if (domain.empty() || local.empty() || domain.find(tf::kDomainEnd) != std::string_view::npos) return r;
  auto trie = section(tf::Section::kTrie);
  // The trie key is folded(domain) '@' folded(local), read here without building it.
  const std::size_t domain_end = domain.size() + 1, total = domain_end + local.size();
  auto key_at = [&](std::size_t i) {
    return i < domain.size() ? fold(domain[i]) : i == domain.size() ? tf::kDomainEnd : fold(local[i - domain_end]);
  };
  bool in_domain = false;
  std::size_t separator_at = std::string_view::npos;
  std::uint32_t exact = tf::kAbsent, base = tf::kAbsent, wildcard = tf::kAbsent;
  std::size_t wildcard_length = 0, k = 0, pos = root_;
  Node n;
  while (parse_node(trie, pos, n)) {
    if (n.label.size() > total - k) break;
    bool mismatch = false;
    for (char c : n.label) {
      if (key_at(k++) != c) {
        mismatch = true;
        break;
      }
    }
    if (mismatch) break;
    if (!in_domain && (n.flags & tf::kNodeDomain) && k == domain_end) {
      in_domain = true;
      r.domain_index = n.domain;
      std::string_view separators = this->domain(n.domain).separators;
      if (!separators.empty()) separator_at = local.find_first_of(separators);
    }
    if (in_domain) {
      std::size_t consumed = k - domain_end;  // octets of the local part matched so far
      if (n.flags & tf::kNodeWildcard) wildcard = n.wildcard, wildcard_length = consumed;
      if (n.flags & tf::kNodeExact) {
        if (consumed == local.size()) exact = n.exact;
        else if (consumed == separator_at) base = n.exact;
      }
    }
    if (k == total || n.child_count == 0) break;
    auto c = static_cast<std::uint8_t>(key_at(k));
    auto* hit = static_cast<const std::uint8_t*>(std::memchr(n.keys, c, n.child_count));
    if (hit == nullptr) break;
    pos -= n.child_offset(static_cast<std::size_t>(hit - n.keys));
    ++k;
  }
  if (!in_domain) return r;
  if (exact != tf::kAbsent) {
    r.kind = MatchKind::kExact, r.route = route_at(exact), r.matched_length = local.size();
  } else if (base != tf::kAbsent) {
    r.kind = MatchKind::kSubaddress, r.route = route_at(base), r.matched_length = separator_at;
  } else if (wildcard != tf::kAbsent) {
    r.kind = MatchKind::kWildcard, r.route = route_at(wildcard), r.matched_length = wildcard_length;
  } else if (DomainView d = this->domain(r.domain_index); d.has_catch_all) {
    r.kind = MatchKind::kCatchAll, r.route = d.catch_all;
  } else {
    r.kind = MatchKind::kUnknown;
  }
  return r;
}

DomainView Table::domain(std::size_t i) const {
  DomainView d;
  auto domains = section(tf::Section::kDomains);
  if (i >= domain_count_) return d;
  const std::uint8_t* rec = domains.data() + i * tf::kDomainRecordSize;
  d.name = string_at(static_cast<std::uint32_t>(tf::get_fixed(rec, 4)));
  auto catch_all = static_cast<std::uint32_t>(tf::get_fixed(rec + 4, 4));
  d.separators = string_at(static_cast<std::uint32_t>(tf::get_fixed(rec + 8, 4)));
  d.has_catch_all = catch_all != tf::kAbsent;
  if (d.has_catch_all) d.catch_all = route_at(catch_all);
  return d;
}

RelaySettings Table::settings() const {
  auto s = section(tf::Section::kSettings);
  auto ref = [&](std::size_t at) { return string_at(static_cast<std::uint32_t>(tf::get_fixed(s.data() + at, 4))); };
  RelaySettings out;
  out.hostname = ref(0);
  out.srs_domain = ref(4);
  out.srs_secret_file = ref(8);
  out.tls_certificate = ref(12);
  out.tls_key = ref(16);
  out.dns_resolver = ref(20);
  out.deliver_via = ref(24);
  auto first = tf::get_fixed(s.data() + 28, 4), count = tf::get_fixed(s.data() + 32, 4);
  tf::Cursor c(section(tf::Section::kStrings), first);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    std::string_view addr;
    if (!c.read_varint(len) || !c.read_bytes(addr, len)) break;
    out.listen.push_back(addr);
  }
  out.max_recipients = static_cast<std::uint32_t>(tf::get_fixed(s.data() + 36, 4));
  out.max_message_size = tf::get_fixed(s.data() + 40, 8);
  out.upstream_port = static_cast<std::uint16_t>(tf::get_fixed(s.data() + 48, 2));
  out.allow_private_destinations = (tf::get_fixed(s.data() + 50, 2) & tf::kAllowPrivateDestinations) != 0;
  return out;
}

void Table::for_each_address(
    std::uint32_t domain_index,
    const std::function<void(std::string_view, bool, const Route&)>& visit) const {
  auto trie = section(tf::Section::kTrie);
  // Walk down to the node that ends "domain@", then visit its subtree in key order.
  std::string key = std::string(domain(domain_index).name) + tf::kDomainEnd;
  std::size_t pos = root_, k = 0;
  Node n;
  while (true) {
    if (!parse_node(trie, pos, n) || n.label != std::string_view(key).substr(k, n.label.size())) return;
    k += n.label.size();
    if (k == key.size()) break;
    auto* hit = static_cast<const std::uint8_t*>(std::memchr(n.keys, static_cast<std::uint8_t>(key[k]), n.child_count));
    if (hit == nullptr) return;
    pos -= n.child_offset(static_cast<std::size_t>(hit - n.keys));
    ++k;
  }
  std::string local;
  // Depth is bounded by the local part length (each step consumes a key byte).
  std::function<void(std::size_t, bool)> walk = [&](std::size_t at, bool is_domain_node) {
    Node m;
    if (!parse_node(trie, at, m)) return;
    std::size_t mark = local.size();
    if (!is_domain_node) local.append(m.label);
    if (m.flags & tf::kNodeExact) visit(local, false, route_at(m.exact));
    if (m.flags & tf::kNodeWildcard) visit(local, true, route_at(m.wildcard));
    for (std::size_t i = 0; i < m.child_count; ++i) {
      local.push_back(static_cast<char>(m.keys[i]));
      walk(at - m.child_offset(i), false);
      local.pop_back();
    }
    local.resize(mark);
  };
  walk(pos, true);
}

}  // namespace emailroute
