#include "engine/yaml_util.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace gridcase::yaml {

namespace {
thread_local std::string_view current_text;

// Columns in code points: count the bytes of the line before `pos` that start a character.
int code_point_column(std::string_view text, size_t pos) {
  size_t start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
  start = (start == std::string_view::npos || pos == 0) ? 0 : start + 1;
  int col = 1;
  for (size_t i = start; i < pos && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  }
  return col;
}
}  // namespace

TextScope::TextScope(std::string_view text) : previous_(current_text) {
  current_text = text;
}
TextScope::~TextScope() {
  current_text = previous_;
}

namespace {

// `~` or `null` written as a value (then a delimiter), not a key that starts so.
bool written_null(std::string_view rest) {
  for (std::string_view word : {"~", "null", "Null", "NULL"}) {
    if (rest.starts_with(word) &&
        (rest.size() == word.size() ||
         std::string_view(" \t\r\n,]}#").find(rest[word.size()]) != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

// From `at`, back over blanks, line breaks and comments to just after the text before.
size_t back_over_blanks(std::string_view text, size_t at) {
  for (;;) {
    while (at > 0 && std::string_view(" \t\r\n").find(text[at - 1]) != std::string_view::npos) {
      --at;
    }
    // A comment on this line (a # at its start or after a blank, outside quotes) is passed
    // over too.
    size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
    line_start = (line_start == std::string_view::npos || at == 0) ? 0 : line_start + 1;
    size_t hash = std::string_view::npos;
    char quote = 0;  // the quote a scalar on this line is open with
    for (size_t i = line_start; i < at && hash == std::string_view::npos; ++i) {
      const char c = text[i];
      if (quote == '"' && c == '\\') {
        ++i;  // an escape: the next character is not a closing quote
      } else if (quote != 0) {
        if (c == quote) quote = 0;  // ('' in a single-quoted scalar: closes and opens again)
      } else if ((c == '"' || c == '\'') &&
                 (i == line_start ||
                  std::string_view(" \t:[{,-").find(text[i - 1]) != std::string_view::npos)) {
        quote = c;  // a quoted scalar starts (an apostrophe inside a word does not)
      } else if (c == '#' && (i == line_start || text[i - 1] == ' ' || text[i - 1] == '\t')) {
        hash = i;
      }
    }
    if (hash == std::string_view::npos) return at;
    at = hash;
  }
}

}  // namespace

SourcePos pos_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  if (m.pos >= 0 && static_cast<size_t>(m.pos) <= current_text.size()) {
    const size_t marked = static_cast<size_t>(m.pos);
    size_t at = marked;
    int line = m.line + 1;
    // A value left empty (`goto:` then a new line) is marked where the next token starts,
    // often lines below: it is put just after its key instead.
    if (n.IsNull() && !written_null(current_text.substr(at))) {
      at = back_over_blanks(current_text, at);
      line -= static_cast<int>(
          std::count(current_text.begin() + static_cast<std::ptrdiff_t>(at),
                     current_text.begin() + static_cast<std::ptrdiff_t>(marked), '\n'));
    }
    return {line, code_point_column(current_text, at)};
  }
  return {m.line + 1, m.column + 1};
}

SourcePos doc_pos(const YAML::Node& root) {
  SourcePos p = pos_of(root);
  return p.line > 0 ? p : SourcePos{1, 1};
}

SourcePos text_pos(const YAML::Node& n, std::string_view file_text) {
  SourcePos p = pos_of(n);
  YAML::Mark m = n.Mark();
  if (m.pos >= 0 && static_cast<size_t>(m.pos) < file_text.size()) {
    char c = file_text[static_cast<size_t>(m.pos)];
    if (c == '"' || c == '\'') p.col += 1;
  }
  return p;
}

std::vector<SourcePos> scalar_map(const YAML::Node& n) {
  std::vector<SourcePos> map;
  std::string_view raw = current_text;
  YAML::Mark m = n.Mark();
  if (!n.IsScalar() || m.pos < 0 || static_cast<size_t>(m.pos) >= raw.size()) return map;
  const std::string& value = n.Scalar();
  size_t i = static_cast<size_t>(m.pos);
  int line = m.line + 1;
  size_t line_start = raw.rfind('\n', i == 0 ? 0 : i - 1);
  line_start = (line_start == std::string_view::npos || i == 0) ? 0 : line_start + 1;
  auto pos = [&](size_t at) {
    int col = 1;
    for (size_t k = line_start; k < at; ++k)
      col += (static_cast<unsigned char>(raw[k]) & 0xC0) != 0x80;
    return SourcePos{line, col};
  };
  auto step = [&]() {  // one byte on, counting lines
    if (raw[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    ++i;
  };
  const char style = raw[i];
  const bool dq = style == '"', sq = style == '\'';
  if (dq || sq) {
    ++i;
  } else if (style == '|' || style == '>') {
    while (i < raw.size() && raw[i] != '\n') step();
    if (i < raw.size()) step();
  }
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t v = 0;
  while (v < value.size()) {
    auto lead = static_cast<unsigned char>(value[v]);
    size_t len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : 4;
    std::string_view ch(value.data() + v, std::min(len, value.size() - v));
    for (;;) {
      if (i >= raw.size()) return {};
      char r = raw[i];
      if (dq && r == '\\' && i + 1 < raw.size()) {
        char e = raw[i + 1];
        if (e == '\n') {  // an escaped line break joins lines and writes nothing
          step();
          step();
          while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) step();
          continue;
        }
        map.push_back(pos(i));
        size_t esc = e == 'x' ? 4 : e == 'u' ? 6 : e == 'U' ? 10 : 2;
        for (size_t k = 0; k < esc && i < raw.size(); ++k) step();
        break;
      }
      if (sq && r == '\'' && i + 1 < raw.size() && raw[i + 1] == '\'') {
        map.push_back(pos(i));
        step();
        step();
        break;
      }
      if (raw.substr(i, ch.size()) == ch) {
        map.push_back(pos(i));
        for (size_t k = 0; k < ch.size(); ++k) step();
        break;
      }
      if ((ch == " " || ch == "\n") && r == '\n') {  // a folded line break
        map.push_back(pos(i));
        step();
        while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) step();
        break;
      }
      if (is_space(r)) {  // indentation, or the spaces a fold swallowed
        step();
        continue;
      }
      return {};
    }
    v += ch.size();
  }
  map.push_back(pos(i));
  return map;
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void check_keys(const YAML::Node& map, std::span<const std::string_view> allowed,
                const std::string& file, std::string_view what, Diagnostics& diags,
                UnknownKey unknown) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diags.error(file, pos_of(key),
                  std::string("keys of ") + std::string(what) + " must be plain names");
      continue;
    }
    const std::string& k = key.Scalar();
    if (!seen.insert(k).second) {
      diags.error(file, pos_of(key), "duplicate key '" + k + "' in " + std::string(what));
    }
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    if (unknown == UnknownKey::Error) {
      diags.error(file, pos_of(key),
                  "unknown key '" + k + "' in " + std::string(what) + " (allowed: " + list + ")");
      continue;
    }
    std::string_view closest;
    size_t best = 3;  // at most two edits away
    for (std::string_view a : allowed) {
      if (size_t d = edit_distance(k, a); d < best) {
        best = d;
        closest = a;
      }
    }
    std::string msg = "unknown key '" + k + "' in " + std::string(what) + ", ignored";
    if (!closest.empty()) msg += " (did you mean '" + std::string(closest) + "'?)";
    diags.warning(file, pos_of(key), msg + " (allowed: " + list + ")");
  }
}

std::optional<std::string> get_string(const YAML::Node& n, const std::string& file,
                                      std::string_view what, Diagnostics& diags) {
  if (!n.IsScalar()) {
    diags.error(file, pos_of(n), std::string(what) + " must be a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<int64_t> get_int(const YAML::Node& n, const std::string& file, std::string_view what,
                               Diagnostics& diags) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    int64_t v = 0;
    const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && b != end) return v;
  }
  diags.error(file, pos_of(n), std::string(what) + " must be an integer");
  return std::nullopt;
}

std::optional<bool> get_bool(const YAML::Node& n, const std::string& file, std::string_view what,
                             Diagnostics& diags) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  diags.error(file, pos_of(n), std::string(what) + " must be true or false");
  return std::nullopt;
}

std::optional<YAML::Node> parse(std::string_view text, const std::string& file,
                                Diagnostics& diags) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    SourcePos p{e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    if (e.mark.pos >= 0 && static_cast<size_t>(e.mark.pos) <= text.size()) {
      p.col = code_point_column(text, static_cast<size_t>(e.mark.pos));
    }
    diags.error(file, p, "YAML syntax: " + e.msg);
    return std::nullopt;
  }
}

bool check_utf8(std::string_view s, const std::string& file, Diagnostics& diags) {
  int line = 1, col = 1;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 2) ok = c >= 0xC2;
    if (ok && len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      diags.error(
          file, {line, col}, "invalid UTF-8 (byte 0x" + [&] {
            static const char* hex = "0123456789abcdef";
            return std::string{hex[c >> 4], hex[c & 15]};
          }() + ")");
      return false;
    }
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += len;
  }
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace gridcase::yaml
