#include "compiler/trie_builder.h"

#include <algorithm>

#include "runtime/table_format.h"

namespace emailroute {
namespace tf = table_format;
namespace {

class TrieWriter {
 public:
  explicit TrieWriter(const std::vector<TrieEntry>& sorted) : entries_(sorted) {}

  std::string write() {
    out_.assign(4, '\0');  // the root offset, filled in last
    std::size_t root = node(0, entries_.size(), 0);
    tf::store_u32(out_, 0, static_cast<std::uint32_t>(root));
    return std::move(out_);
  }

 private:
  // Writes the node for entries [lo, hi), which share their first `depth`
  // bytes, after its children; returns its position.
  std::size_t node(std::size_t lo, std::size_t hi, std::size_t depth) {
    const std::string& first = entries_[lo].key;
    const std::string& last = entries_[hi - 1].key;
    // Keys are sorted, so what the first and last share, all share.
    std::size_t end = depth;
    while (end < first.size() && end < last.size() && first[end] == last[end]) ++end;
    const TrieEntry* value = nullptr;
    std::size_t i = lo;
    if (first.size() == end) value = &entries_[i++];

    std::string keys;
    std::vector<std::size_t> children;
    while (i < hi) {
      char c = entries_[i].key[end];
      std::size_t j = i + 1;
      while (j < hi && entries_[j].key[end] == c) ++j;
      keys.push_back(c);
      children.push_back(node(i, j, end + 1));
      i = j;
    }

    std::size_t pos = out_.size();
    std::size_t farthest = children.empty() ? 0 : pos - *std::min_element(children.begin(), children.end());
    int width = farthest < (1u << 8) ? 1 : farthest < (1u << 16) ? 2 : farthest < (1u << 24) ? 3 : 4;
    std::uint8_t flags = static_cast<std::uint8_t>((width - 1) << tf::kNodeWidthShift);
    if (end > depth) flags |= tf::kNodeLabel;
    if (value && value->exact) flags |= tf::kNodeExact;
    if (value && value->wildcard) flags |= tf::kNodeWildcard;
    if (value && value->domain) flags |= tf::kNodeDomain;
    if (!children.empty()) flags |= tf::kNodeChildren;
    tf::put_u8(out_, flags);
    if (end > depth) {
      tf::put_varint(out_, static_cast<std::uint32_t>(end - depth));
      out_.append(first, depth, end - depth);
    }
    if (flags & tf::kNodeExact) tf::put_varint(out_, *value->exact);
    if (flags & tf::kNodeWildcard) tf::put_varint(out_, *value->wildcard);
    if (flags & tf::kNodeDomain) tf::put_varint(out_, *value->domain);
    if (!children.empty()) {
      tf::put_u8(out_, static_cast<std::uint8_t>(children.size() - 1));
      out_ += keys;
      for (std::size_t child : children) tf::put_fixed(out_, pos - child, width);
    }
    return pos;
  }

  const std::vector<TrieEntry>& entries_;
  std::string out_;
};

}  // namespace

std::string build_trie(const std::vector<TrieEntry>& sorted) { return TrieWriter(sorted).write(); }

}  // namespace emailroute
