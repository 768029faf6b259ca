// Lays out the path-compressed trie of runtime/table_format.md from keys in
// sorted order. Nodes are written children first (post-order), so a parent
// names each child by a backward distance and a reader can check every
// offset in one forward pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace emailroute {

struct TrieEntry {
  std::string key;  // folded domain '@' folded local part (empty local: the domain node)
  std::optional<std::uint32_t> exact, wildcard, domain;  // route refs, domain index
};

/// The trie section: the root's offset, then the nodes.
/// REQUIRES: `sorted` is non-empty, sorted by key, keys unique.
std::string build_trie(const std::vector<TrieEntry>& sorted);

}  // namespace emailroute
