#include "compiler/trie_builder.h"

#include <algorithm>

#include "runtime/table_format.h"

namespace emailroute {
namespace tf = table_format;

// One pass over the sorted keys with a stack of the nodes whose subtrees are
// still open (the path to the last key), instead of recursing over ranges of
// a sorted array. Where a key stops sharing bytes with the previous one, every
// open node deeper than that is complete, so it is written (its children
// already are): that is exactly post-order.

TrieWriter::TrieWriter(std::string& out) : out_(out), base_(out.size()) {
  tf::put_u32(out_, 0);  // the root offset, filled in by finish()
  open_.push_back({-1, std::nullopt, 0});  // above the root: its only child will be the root
}

bool TrieWriter::add(std::string_view key, const TrieValue& value) {
  std::size_t shared = 0;
  while (shared < key.size() && shared < previous_.size() && key[shared] == previous_[shared]) ++shared;
  bool ascending = previous_.empty() ||
                   (shared < key.size() && (shared == previous_.size() ||
                                            static_cast<unsigned char>(key[shared]) > static_cast<unsigned char>(previous_[shared])));
  if (!ascending) return false;
  close_deeper_than(static_cast<int>(shared));
  open_.push_back({static_cast<int>(key.size()), value, children_.size()});
  previous_.assign(key);
  return true;
}

void TrieWriter::finish() {
  close_deeper_than(-1);
  tf::store_u32(out_, base_, static_cast<std::uint32_t>(children_.back().pos));
}

// Writes every open node whose key is longer than `depth` bytes. A node's
// parent is the next open node, or a new branching node at `depth` when that
// one is shallower (the next key leaves the path there).
void TrieWriter::close_deeper_than(int depth) {
  while (open_.back().end > depth) {
    Open node = std::move(open_.back());
    open_.pop_back();
    int parent_end = std::max(open_.back().end, depth);
    std::size_t pos = write_node(node, parent_end + 1);
    if (open_.back().end < depth) open_.push_back({depth, std::nullopt, children_.size()});
    char edge = parent_end >= 0 ? previous_[static_cast<std::size_t>(parent_end)] : '\0';
    children_.push_back({edge, pos});
  }
}

// Writes `node`, whose label starts at key byte `start`; returns its position.
std::size_t TrieWriter::write_node(const Open& node, int start) {
  auto label = std::string_view(previous_).substr(static_cast<std::size_t>(start), static_cast<std::size_t>(node.end - start));
  const TrieValue* value = node.value ? &*node.value : nullptr;
  std::size_t first_child = node.children, child_count = children_.size() - first_child;

  std::size_t pos = out_.size() - base_;
  // Children are written in order, so the first is the farthest back.
  std::size_t farthest = child_count == 0 ? 0 : pos - children_[first_child].pos;
  int width = farthest < (1u << 8) ? 1 : farthest < (1u << 16) ? 2 : farthest < (1u << 24) ? 3 : 4;
  std::uint8_t flags = static_cast<std::uint8_t>((width - 1) << tf::kNodeWidthShift);
  if (!label.empty()) flags |= tf::kNodeLabel;
  if (value && value->exact) flags |= tf::kNodeExact;
  if (value && value->wildcard) flags |= tf::kNodeWildcard;
  if (value && value->domain) flags |= tf::kNodeDomain;
  if (child_count > 0) flags |= tf::kNodeChildren;
  tf::put_u8(out_, flags);
  if (!label.empty()) {
    tf::put_varint(out_, static_cast<std::uint32_t>(label.size()));
    out_ += label;
  }
  if (flags & tf::kNodeExact) tf::put_varint(out_, *value->exact);
  if (flags & tf::kNodeWildcard) tf::put_varint(out_, *value->wildcard);
  if (flags & tf::kNodeDomain) tf::put_varint(out_, *value->domain);
  if (child_count > 0) {
    tf::put_u8(out_, static_cast<std::uint8_t>(child_count - 1));
    for (std::size_t c = first_child; c < children_.size(); ++c) out_ += children_[c].key;
    for (std::size_t c = first_child; c < children_.size(); ++c) tf::put_fixed(out_, pos - children_[c].pos, width);
  }
  children_.resize(first_child);
  return pos;
}

}  // namespace emailroute
