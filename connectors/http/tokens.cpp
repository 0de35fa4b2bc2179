#include "connectors/http/tokens.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/time.hpp"

namespace gridcase::http {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

int64_t file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return (static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec) ^
         (static_cast<int64_t>(st.st_size) << 1);
}

Result<std::unordered_map<std::string, TokenInfo>> read_file(const std::string& path) {
  std::unordered_map<std::string, TokenInfo> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // no file yet: no tokens
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("tokens") || !j["tokens"].is_array()) {
    return err(path + ": not a token file (expected {\"tokens\": [...]})");
  }
  for (const auto& t : j["tokens"]) {
    if (!t.is_object()) continue;
    TokenInfo info;
    auto s = [&](const char* k) {
      auto it = t.find(k);
      return it != t.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    info.id = s("id");
    info.name = s("name");
    info.person = s("person");
    info.kind = s("kind");
    info.created_at = s("created_at");
    info.sha256 = s("sha256");
    if (info.sha256.size() != 64 || info.id.empty()) continue;
    out.emplace(info.sha256, std::move(info));
  }
  return out;
}

Result<bool> write_file(const std::string& path,
                        const std::unordered_map<std::string, TokenInfo>& tokens) {
  std::vector<const TokenInfo*> sorted;
  for (const auto& [h, t] : tokens) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at : a->id < b->id;
  });
  json arr = json::array();
  for (const TokenInfo* t : sorted) {
    arr.push_back({{"id", t->id},
                   {"name", t->name},
                   {"person", t->person},
                   {"kind", t->kind},
                   {"created_at", t->created_at},
                   {"sha256", t->sha256}});
  }
  std::string text =
      json{{"version", 1}, {"tokens", arr}}.dump(2, ' ', false, json::error_handler_t::replace);
  text.push_back('\n');
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);  // hashes only, still private
  if (fd < 0) return err("cannot write " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return err("write failed: " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return err("fsync failed: " + tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return err("cannot rename " + tmp + ": " + ec.message());
  std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up on every digest,
  // and this runs on every request (the token's hash).
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  const EVP_MD* type = fetched ? fetched : EVP_sha256();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, type, nullptr);
  return hex(md, len);
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    // RAND_bytes fails only when the OS entropy source is unusable: never hand out a
    // predictable token.
    std::abort();
  }
  return hex(buf.data(), bytes);
}

Result<std::unique_ptr<TokenStore>> TokenStore::open(const std::string& path,
                                                     std::chrono::milliseconds reload_every) {
  std::unique_ptr<TokenStore> s(new TokenStore(path, reload_every));
  std::unique_lock lock(s->mu_);
  if (auto r = s->load_locked(); !r.ok()) return r.error();
  return s;
}

Result<bool> TokenStore::load_locked() {
  int64_t stamp = file_stamp(path_);
  auto tokens = read_file(path_);
  if (!tokens.ok()) return tokens.error();
  by_hash_ = std::move(tokens).value();
  file_stamp_ = stamp;
  index_locked();
  return true;
}

void TokenStore::index_locked() {
  lookup_.clear();
  for (const auto& [h, t] : by_hash_) lookup_.emplace(h, std::make_shared<const TokenInfo>(t));
}

void TokenStore::maybe_reload() {
  {
    std::lock_guard g(check_mu_);
    auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return;
    next_check_ = now + reload_every_;
  }
  int64_t stamp = file_stamp(path_);
  {
    std::shared_lock r(mu_);
    if (stamp == file_stamp_) return;
  }
  std::unique_lock w(mu_);
  // A file that does not parse keeps the tokens loaded before (and is retried next time).
  (void)load_locked();
}

template <typename F>
Result<bool> TokenStore::update(F&& change) {
  std::error_code ec;
  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  std::string lock_path = path_ + ".lock";
  int lfd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
  if (lfd < 0) return err("cannot open " + lock_path);
  ::flock(lfd, LOCK_EX);
  std::unique_lock w(mu_);
  Result<bool> r = load_locked();
  if (r.ok()) {
    auto changed = change(by_hash_);
    if (!changed.ok() || !changed.value()) {
      r = changed;
    } else {
      r = write_file(path_, by_hash_);
      file_stamp_ = file_stamp(path_);
      index_locked();
    }
  }
  ::flock(lfd, LOCK_UN);
  ::close(lfd);
  return r;
}

Result<std::string> TokenStore::add(const std::string& person, const std::string& name,
                                    const std::string& kind, TokenInfo* info_out) {
  TokenInfo info;
  std::string token;
  auto r = update([&](std::unordered_map<std::string, TokenInfo>& tokens) -> Result<bool> {
    for (;;) {
      info.id = random_hex(4);
      bool clash = false;
      for (const auto& [h, t] : tokens) clash = clash || t.id == info.id;
      if (!clash) break;
    }
    token = "gc_" + info.id + "_" + random_hex(24);
    info.name = name;
    info.person = person;
    info.kind = kind;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    info.created_at = format_timestamp(
        Timestamp{std::chrono::duration_cast<std::chrono::seconds>(now).count() * 1000});
    info.sha256 = sha256_hex(token);
    tokens.emplace(info.sha256, info);
    return true;
  });
  if (!r.ok()) return r.error();
  if (info_out) *info_out = info;
  return token;
}

Result<bool> TokenStore::revoke(const std::string& id) {
  bool found = false;
  auto r = update([&](std::unordered_map<std::string, TokenInfo>& tokens) -> Result<bool> {
    for (auto it = tokens.begin(); it != tokens.end(); ++it) {
      if (it->second.id == id) {
        tokens.erase(it);
        found = true;
        return true;
      }
    }
    return false;
  });
  if (!r.ok()) return r.error();
  return found;
}

std::vector<TokenInfo> TokenStore::list() {
  maybe_reload();
  std::shared_lock r(mu_);
  std::vector<TokenInfo> out;
  for (const auto& [h, t] : by_hash_) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

std::shared_ptr<const TokenInfo> TokenStore::find(std::string_view token) {
  if (token.empty() || token.size() > 256) return nullptr;
  maybe_reload();
  std::string h = sha256_hex(token);
  std::shared_lock r(mu_);
  auto it = lookup_.find(h);
  if (it == lookup_.end()) return nullptr;
  return it->second;
}

}  // namespace gridcase::http
