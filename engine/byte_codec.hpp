#pragma once
// A small binary encoding shared by the stored records (engine/codec.cpp: cases;
// engine/view_model.cpp: summaries, view records, feed entries): LEB128 varints, zigzag
// signed integers, length-prefixed strings, and a reader that notes truncation instead of
// reading past the end.
#include <cstdint>
#include <string>
#include <string_view>

namespace gridcase::bytes {

inline void put_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_signed(int64_t v, std::string& out) {
  put_varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

inline void put_str(std::string_view s, std::string& out) {
  put_varint(s.size(), out);
  out.append(s);
}

// Reads from `in` and advances it (the caller's view: nested decoders share one position).
// Any read past the end sets ok = false and returns zero / empty.
struct Reader {
  std::string_view& in;
  bool ok = true;

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto b = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  int64_t signed_() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string str() {
    uint64_t n = varint();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
  uint8_t byte() {
    if (in.empty()) {
      ok = false;
      return 0;
    }
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    return b;
  }
  // A count that cannot exceed the bytes left (each element takes at least one).
  uint64_t count() {
    uint64_t n = varint();
    if (n > in.size()) ok = false;
    return ok ? n : 0;
  }
};

}  // namespace gridcase::bytes
