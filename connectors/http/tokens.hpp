#pragma once
// API tokens: each names a person of the org (or the SMS gateway). Only SHA-256 hashes are
// kept, in one JSON file in the state directory (STATE/tokens.json), written atomically
// (tmp file, fsync, rename, fsync of the directory) under an flock so that two
// `gridcase token` commands never lose each other's change.
//
// Why a JSON file and not RocksDB: `serve` holds the state's RocksDB databases open (one
// writer process each), and `gridcase token add` must work while it runs; the file is tiny,
// rarely written and easy to inspect or back up. The server re-reads it when its mtime or
// size changes (checked at most once a second), so a token added or revoked on the command
// line takes effect within a second without a restart.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/result.hpp"

namespace gridcase::http {

std::string sha256_hex(std::string_view data);
std::string random_hex(size_t bytes);  // from the OS's CSPRNG (OpenSSL RAND_bytes)

struct TokenInfo {
  std::string id;      // short public id, for list/revoke
  std::string name;    // label given at creation
  std::string person;  // person id; "" for the SMS gateway
  std::string kind;    // "person" | "sms_gateway"
  std::string created_at;
  std::string sha256;  // of the whole token
};

class TokenStore {
 public:
  // Opens the file at `path` (missing = no tokens yet; created on the first add).
  // `reload_every`: how often find() looks at the file's mtime (tests: 0, always).
  static Result<std::unique_ptr<TokenStore>> open(
      const std::string& path, std::chrono::milliseconds reload_every = std::chrono::seconds(1));

  // Creates a token and returns it: the only time it is ever shown.
  Result<std::string> add(const std::string& person, const std::string& name,
                          const std::string& kind, TokenInfo* info = nullptr);
  // false when no token has this id.
  Result<bool> revoke(const std::string& id);
  std::vector<TokenInfo> list();
  // The token's entry, or null for an unknown or revoked token. Thread-safe. Shared, not
  // copied: this runs on every request.
  std::shared_ptr<const TokenInfo> find(std::string_view token);

 private:
  TokenStore(std::string path, std::chrono::milliseconds reload_every)
      : path_(std::move(path)), reload_every_(reload_every) {}
  Result<bool> load_locked();  // mu_ held exclusively
  void maybe_reload();
  // Read-modify-write under the file lock.
  template <typename F>
  Result<bool> update(F&& change);

  std::string path_;
  std::chrono::milliseconds reload_every_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, TokenInfo> by_hash_;
  std::unordered_map<std::string, std::shared_ptr<const TokenInfo>> lookup_;  // = by_hash_
  void index_locked();
  int64_t file_stamp_ = -1;  // mtime ns ^ size of what was loaded
  std::chrono::steady_clock::time_point next_check_{};
  std::mutex check_mu_;
};

}  // namespace gridcase::http
