// Lays out the path-compressed trie of runtime/table_format.md from keys
// given in sorted order. Nodes are written children first (post-order), so a
// parent names each child by a backward distance and a reader can check
// every offset in one forward pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emailroute {

/// What a key carries: route refs and, for a domain key, the domain index.
struct TrieValue {
  std::optional<std::uint32_t> exact, wildcard, domain;
};

/// Writes the trie section at the end of a buffer, one key at a time: no
/// key needs to outlive its add(), and nothing is allocated per key or node.
class TrieWriter {
 public:
  /// Starts the section at the end of `out`. Offsets in the section count
  /// from that point.
  explicit TrieWriter(std::string& out);

  /// Adds `key` (folded domain '@' folded local part; the domain node's key
  /// ends at the '@'). Returns false, adding nothing, unless `key` sorts
  /// after the previous one: the layout needs the keys in ascending order.
  bool add(std::string_view key, const TrieValue& value);

  /// Writes the last nodes and the root offset. REQUIRES: at least one key.
  void finish();

 private:
  struct Open {
    int end;  // the node's key is the first `end` bytes of the previous key
    std::optional<TrieValue> value;
    std::size_t children;  // its written children are children_[children..]
  };
  struct Child {
    char key;
    std::size_t pos;
  };

  void close_deeper_than(int depth);
  std::size_t write_node(const Open& node, int start);

  std::string& out_;
  std::size_t base_;         // where the section starts in out_
  std::string previous_;     // the last key added; every open node spells a prefix of it
  std::vector<Open> open_;   // the path from above the root to the last key's node
  std::vector<Child> children_;  // the written children of the open nodes, a run per node
};

}  // namespace emailroute
