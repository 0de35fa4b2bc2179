#pragma once
// The web app's static files (connectors/web/dist) served by `gridcase serve`: GET of any
// path the API does not own. Files under assets/ carry a content hash in their names and
// are cached for a year; everything else is revalidated. A path without a file behind it
// and without an extension is the single-page app's own route: index.html. A precompressed
// sibling (FILE.gz) is sent to clients that accept gzip. Paths never leave the root.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/http/api.hpp"

namespace gridcase::http {

class StaticFiles {
 public:
  // `root`: the directory holding index.html.
  explicit StaticFiles(std::filesystem::path root);

  // The answer to GET `path` (percent-encoded, without the query), or nullopt when the path
  // is not for the web app (the API's 404 then applies): paths under /v1/.
  std::optional<ApiResponse> get(std::string_view path, std::string_view accept_encoding) const;

  const std::filesystem::path& root() const { return root_; }

  // The media type for a file name ("app.js" -> "text/javascript; charset=utf-8").
  static const char* content_type(std::string_view name);

 private:
  std::filesystem::path root_;
};

}  // namespace gridcase::http
