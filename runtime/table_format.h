// Constants and byte-level encoding of the compiled routing table. The format
// is described byte by byte in runtime/table_format.md; this header mirrors it.
// Integers are little-endian and encoded byte by byte, never by casting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace emailroute::table_format {

inline constexpr char kMagic[8] = {'E', 'M', 'R', 'O', 'U', 'T', 'E', '\x1a'};
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kChecksumOffset = 56;
inline constexpr std::size_t kSectionCount = 5;
inline constexpr std::size_t kDomainRecordSize = 12;
inline constexpr std::size_t kSettingsSize = 56;
inline constexpr std::uint32_t kAbsent = 0xFFFFFFFF;  // "no string" / "no route"
inline constexpr char kDomainEnd = '@';                // joins domain and local part in trie keys

static_assert(kChecksumOffset + 8 == kHeaderSize);
static_assert(16 + kSectionCount * 8 == kChecksumOffset);

/// Sections in file order; the header holds (offset, size) for each.
enum class Section : std::size_t { kStrings = 0, kRoutes, kDomains, kSettings, kTrie };

enum class RouteKind : std::uint8_t { kForward = 0, kDrop = 1, kReject = 2, kRejectWithMessage = 3 };

// Trie node flag bits.
inline constexpr std::uint8_t kNodeLabel = 0x01;
inline constexpr std::uint8_t kNodeExact = 0x02;
inline constexpr std::uint8_t kNodeWildcard = 0x04;
inline constexpr std::uint8_t kNodeDomain = 0x08;
inline constexpr std::uint8_t kNodeChildren = 0x10;
inline constexpr std::uint8_t kNodeWidthShift = 5;  // bits 5-6: child offset width - 1
inline constexpr std::uint8_t kNodeReserved = 0x80;

// Settings flag bits.
inline constexpr std::uint16_t kAllowPrivateDestinations = 0x0001;

// --- writing -------------------------------------------------------------

inline void put_fixed(std::string& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
inline void put_u8(std::string& out, std::uint8_t v) { put_fixed(out, v, 1); }
inline void put_u16(std::string& out, std::uint16_t v) { put_fixed(out, v, 2); }
inline void put_u32(std::string& out, std::uint32_t v) { put_fixed(out, v, 4); }
inline void put_u64(std::string& out, std::uint64_t v) { put_fixed(out, v, 8); }

inline void put_varint(std::string& out, std::uint32_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline void store_u32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void store_u64(std::string& out, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// --- reading -------------------------------------------------------------

/// Reads fixed-width little-endian integers. REQUIRES: `width` bytes at p.
inline std::uint64_t get_fixed(const std::uint8_t* p, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/// A bounds-checked cursor over an untrusted byte span. Every read returns
/// false instead of reading past the end.
class Cursor {
 public:
  Cursor(std::span<const std::uint8_t> bytes, std::size_t pos) : bytes_(bytes), pos_(pos) {}

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return pos_ <= bytes_.size() ? bytes_.size() - pos_ : 0; }

  bool read_fixed(std::uint64_t& v, int width) {
    if (remaining() < static_cast<std::size_t>(width)) return false;
    v = get_fixed(bytes_.data() + pos_, width);
    pos_ += width;
    return true;
  }
  bool read_u8(std::uint8_t& v) {
    std::uint64_t x;
    if (!read_fixed(x, 1)) return false;
    v = static_cast<std::uint8_t>(x);
    return true;
  }
  /// LEB128, at most 5 bytes, value must fit 32 bits.
  bool read_varint(std::uint32_t& v) {
    std::uint64_t acc = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (remaining() < 1) return false;
      std::uint8_t b = bytes_[pos_++];
      acc |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        if (acc > 0xFFFFFFFFu) return false;
        v = static_cast<std::uint32_t>(acc);
        return true;
      }
    }
    return false;
  }
  bool read_bytes(std::string_view& out, std::size_t len) {
    if (remaining() < len) return false;
    out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return true;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_;
};

/// FNV-1a 64 over the file with the checksum field itself skipped.
inline std::uint64_t checksum(std::span<const std::uint8_t> file) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ULL;
    }
  };
  mix(file.data(), kChecksumOffset);
  if (file.size() > kHeaderSize) mix(file.data() + kHeaderSize, file.size() - kHeaderSize);
  return h;
}

}  // namespace emailroute::table_format
