#include "connectors/http/static_files.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "connectors/http/parsers.hpp"

namespace gridcase::http {

namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<std::string> read_regular_file(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

ApiResponse not_found(std::string_view path) {
  return error_response(
      {404, "not_found", "没有这个文件 / no such file: " + std::string(path), {}});
}

}  // namespace

StaticFiles::StaticFiles(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  auto canon = fs::weakly_canonical(root_, ec);
  if (!ec) root_ = canon;
}

const char* StaticFiles::content_type(std::string_view name) {
  struct Type {
    const char* ext;
    const char* type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".webmanifest", "application/manifest+json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".jpg", "image/jpeg"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
  };
  for (const auto& t : kTypes) {
    if (ends_with(name, t.ext)) return t.type;
  }
  return "application/octet-stream";
}

std::optional<ApiResponse> StaticFiles::get(std::string_view path,
                                            std::string_view accept_encoding) const {
  if (path == "/v1" || path.substr(0, 4) == "/v1/") return std::nullopt;
  std::string decoded = percent_decode(path, false);
  // Refuse what could step outside the root: "..", backslashes, NUL, a non-absolute path.
  if (decoded.empty() || decoded[0] != '/' || decoded.find('\0') != std::string::npos ||
      decoded.find('\\') != std::string::npos) {
    return not_found(path);
  }
  std::string rel;
  bool has_ext = false;
  {
    std::string_view rest(decoded);
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      std::string_view seg = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (seg.empty() || seg == ".") continue;
      if (seg == ".." || seg[0] == '.') return not_found(path);  // also hidden files
      if (!rel.empty()) rel += '/';
      rel += seg;
      has_ext = seg.find('.') != std::string_view::npos;
    }
  }
  fs::path file = rel.empty() ? root_ / "index.html" : root_ / rel;
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "index.html";
  // Symlinks inside the root must not lead out of it either.
  auto canon = fs::weakly_canonical(file, ec);
  if (ec) return not_found(path);
  auto [r_end, _] = std::mismatch(root_.begin(), root_.end(), canon.begin(), canon.end());
  if (r_end != root_.end()) return not_found(path);
  bool spa = false;
  if (!fs::is_regular_file(canon, ec)) {
    // The app's own routes (/cases/r-1, /report): index.html. A missing file is 404.
    if (has_ext) return not_found(path);
    canon = root_ / "index.html";
    spa = true;
  }
  std::string name = canon.filename().string();
  ApiResponse r;
  r.content_type = content_type(name);
  bool hashed = !spa && rel.substr(0, 7) == "assets/";
  r.headers.emplace_back("Cache-Control",
                         hashed ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (accept_encoding.find("gzip") != std::string_view::npos) {
    if (auto gz = read_regular_file(fs::path(canon.string() + ".gz"))) {
      r.body = std::move(*gz);
      r.headers.emplace_back("Content-Encoding", "gzip");
      return r;
    }
  }
  auto body = read_regular_file(canon);
  if (!body) {
    return error_response({404,
                           "not_found",
                           spa ? "网页应用尚未构建（缺少 index.html）/ the web app is not built"
                               : "没有这个文件 / no such file",
                           {}});
  }
  r.body = std::move(*body);
  return r;
}

}  // namespace gridcase::http
