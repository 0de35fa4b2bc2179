#include "storage/workflow_registry.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "storage/plain_db.hpp"

namespace gridcase {

namespace {

namespace fs = std::filesystem;

void put_be64(uint64_t v, std::string& out) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t get_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string version_prefix(const std::string& name) {
  std::string k = "v";
  k.push_back('\0');
  k += name;
  k.push_back('\0');
  return k;
}
std::string version_key(const std::string& name, int64_t version) {
  std::string k = version_prefix(name);
  put_be64(static_cast<uint64_t>(version), k);
  return k;
}
std::string audit_key(int64_t seq) {
  std::string k = "a";
  k.push_back('\0');
  put_be64(static_cast<uint64_t>(seq), k);
  return k;
}

std::string migration_key(int64_t seq) {
  std::string k = "m";
  k.push_back('\0');
  put_be64(static_cast<uint64_t>(seq), k);
  return k;
}

// The highest seq under a one-letter prefix ("a" audit, "m" migrations), 0 if none.
int64_t last_seq(rocksdb::DB* db, char kind) {
  std::string prefix(1, kind);
  prefix.push_back('\0');
  std::string upper = prefix;
  put_be64(UINT64_MAX, upper);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(upper);
  if (it->Valid() && it->key().starts_with(prefix)) {
    return static_cast<int64_t>(get_be64(it->key().ToStringView().substr(prefix.size())));
  }
  return 0;
}

Error status_error(const rocksdb::Status& s, const std::string& what) {
  return storage_detail::status_error("workflow registry", s, what);
}

std::string to_json(const WorkflowVersion& v) {
  return nlohmann::json{{"name", v.name},  {"version", v.version}, {"hash", v.hash},
                        {"file", v.file},  {"text", v.text},       {"deployed_at", v.deployed_at},
                        {"actor", v.actor}}
      .dump();
}

Result<WorkflowVersion> version_from(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return err("workflow registry: a corrupt version record");
  WorkflowVersion v;
  v.name = j.value("name", "");
  v.version = j.value("version", int64_t{0});
  v.hash = j.value("hash", "");
  v.file = j.value("file", "");
  v.text = j.value("text", "");
  v.deployed_at = j.value("deployed_at", "");
  v.actor = j.value("actor", "");
  return v;
}

std::string to_json(const AuditRecord& a) {
  return nlohmann::json{{"seq", a.seq},       {"at", a.at},     {"actor", a.actor},
                        {"action", a.action}, {"name", a.name}, {"version", a.version},
                        {"hash", a.hash},     {"file", a.file}, {"change", a.change}}
      .dump();
}

AuditRecord audit_from(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  AuditRecord a;
  if (!j.is_object()) return a;
  a.seq = j.value("seq", int64_t{0});
  a.at = j.value("at", "");
  a.actor = j.value("actor", "");
  a.action = j.value("action", "");
  a.name = j.value("name", "");
  a.version = j.value("version", int64_t{0});
  a.hash = j.value("hash", "");
  a.file = j.value("file", "");
  a.change = j.value("change", "");
  return a;
}

}  // namespace

bool WorkflowRegistry::exists(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / "CURRENT", ec);
}

Result<std::unique_ptr<WorkflowRegistry>> WorkflowRegistry::open(const std::string& dir) {
  auto db = storage_detail::open_plain_db(dir, "workflow registry");
  if (!db.ok()) return db.error();
  std::unique_ptr<WorkflowRegistry> r(new WorkflowRegistry());
  r->db_ = *db;
  return r;
}

Result<std::unique_ptr<WorkflowRegistry>> WorkflowRegistry::open_read_only(const std::string& dir) {
  rocksdb::Options o;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(o, dir, &db);
  if (!s.ok()) return status_error(s, "open " + dir);
  std::unique_ptr<WorkflowRegistry> r(new WorkflowRegistry());
  r->db_ = db;
  return r;
}

std::optional<std::vector<Workflow>> new_versions(WorkflowRegistry& registry, const Engine& engine,
                                                  Diagnostics& diags) {
  auto all = registry.versions();
  if (!all.ok()) {
    diags.error("workflows", {}, all.error().message);
    return std::nullopt;
  }
  std::vector<Workflow> out;
  for (const auto& v : all.value()) {
    if (engine.workflow_index(v.name, v.version) >= 0) continue;
    auto wf = load_workflow_text(v.text, v.file, &engine.org(), diags);
    if (!wf) {
      diags.error(v.file, {},
                  "deployed workflow '" + v.name + "' v" + std::to_string(v.version) +
                      " does not load here; no new version taken");
      return std::nullopt;
    }
    wf->version = v.version;
    wf->hash = v.hash;
    out.push_back(std::move(*wf));
  }
  return out;
}

WorkflowRegistry::~WorkflowRegistry() {
  delete db_;
}

Result<std::vector<WorkflowVersion>> WorkflowRegistry::versions() {
  std::vector<WorkflowVersion> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = "v";
  prefix.push_back('\0');
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() > 2 && it->key()[2] == '@') continue;  // the org tree
    auto v = version_from(it->value().ToString());
    if (!v.ok()) return v.error();
    out.push_back(std::move(v).value());
  }
  if (!it->status().ok()) return status_error(it->status(), "read versions");
  return out;
}

Result<std::optional<WorkflowVersion>> WorkflowRegistry::get(const std::string& name,
                                                             int64_t version) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), version_key(name, version), &value);
  if (s.IsNotFound()) return std::optional<WorkflowVersion>();
  if (!s.ok()) return status_error(s, "read version");
  auto v = version_from(value);
  if (!v.ok()) return v.error();
  return std::optional<WorkflowVersion>(std::move(v).value());
}

Result<std::optional<WorkflowVersion>> WorkflowRegistry::head(const std::string& name) {
  std::string prefix = version_prefix(name);
  std::string upper = prefix;
  put_be64(UINT64_MAX, upper);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(upper);
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    if (!it->status().ok()) return status_error(it->status(), "read head");
    return std::optional<WorkflowVersion>();
  }
  auto v = version_from(it->value().ToString());
  if (!v.ok()) return v.error();
  return std::optional<WorkflowVersion>(std::move(v).value());
}

Result<std::vector<AuditRecord>> WorkflowRegistry::history() {
  std::vector<AuditRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = "a";
  prefix.push_back('\0');
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.push_back(audit_from(it->value().ToString()));
  }
  if (!it->status().ok()) return status_error(it->status(), "read history");
  return out;
}

Result<int64_t> WorkflowRegistry::order_migration(MigrationOrder order) {
  order.seq = last_seq(db_, 'm') + 1;
  nlohmann::json j{{"seq", order.seq},
                   {"name", order.name},
                   {"to", order.to},
                   {"at", order.at},
                   {"actor", order.actor}};
  if (order.where) j["where"] = *order.where;
  AuditRecord a;
  a.seq = last_seq(db_, 'a') + 1;
  a.at = order.at;
  a.actor = order.actor;
  a.action = "migrate";
  a.name = order.name;
  a.version = order.to;
  a.change = "迁移指令 order #" + std::to_string(order.seq) +
             " 交运行中的引擎 to the running engine" +
             (order.where ? "; where " + *order.where : "");
  rocksdb::WriteBatch batch;
  batch.Put(migration_key(order.seq), j.dump());
  batch.Put(audit_key(a.seq), to_json(a));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto s = db_->Write(wo, &batch); !s.ok()) return status_error(s, "write");
  return order.seq;
}

Result<std::vector<MigrationOrder>> WorkflowRegistry::migrations_after(int64_t seq) {
  std::vector<MigrationOrder> out;
  std::string prefix = "m";
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(migration_key(seq + 1)); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto j = nlohmann::json::parse(it->value().ToStringView(), nullptr, false);
    if (!j.is_object()) return err("workflow registry: a corrupt migration order");
    MigrationOrder o;
    o.seq = j.value("seq", int64_t{0});
    o.name = j.value("name", "");
    o.to = j.value("to", int64_t{0});
    if (j.contains("where") && j["where"].is_string()) o.where = j["where"].get<std::string>();
    o.at = j.value("at", "");
    o.actor = j.value("actor", "");
    out.push_back(std::move(o));
  }
  if (!it->status().ok()) return status_error(it->status(), "read migration orders");
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> WorkflowRegistry::records() {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k.size() < 2 || k[1] != '\0') continue;
    std::string readable;
    if (k[0] == 'v') {
      size_t end = k.find('\0', 2);
      if (end == std::string_view::npos || k.size() != end + 9) continue;
      readable = "version/" + std::string(k.substr(2, end - 2)) + "/" +
                 std::to_string(get_be64(k.substr(end + 1)));
    } else if ((k[0] == 'a' || k[0] == 'm') && k.size() == 10) {
      readable = std::string(k[0] == 'a' ? "audit/" : "migration/") +
                 std::to_string(get_be64(k.substr(2)));
    } else {
      continue;
    }
    out.emplace_back(std::move(readable), it->value().ToString());
  }
  if (!it->status().ok()) return status_error(it->status(), "read records");
  return out;
}

Result<size_t> WorkflowRegistry::import(
    const std::vector<std::pair<std::string, std::string>>& records) {
  rocksdb::WriteBatch batch;
  size_t changed = 0;
  for (const auto& [key, value] : records) {
    std::string k;
    auto number = [](std::string_view s) -> std::optional<int64_t> {
      if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
      }
      return std::stoll(std::string(s));
    };
    if (key.starts_with("version/")) {
      size_t slash = key.rfind('/');
      auto v = number(std::string_view(key).substr(slash + 1));
      if (slash <= 8 || !v) continue;
      k = version_key(key.substr(8, slash - 8), *v);
    } else if (key.starts_with("audit/")) {
      auto seq = number(std::string_view(key).substr(6));
      if (!seq) continue;
      k = audit_key(*seq);
    } else if (key.starts_with("migration/")) {
      auto seq = number(std::string_view(key).substr(10));
      if (!seq) continue;
      k = migration_key(*seq);
    } else {
      continue;
    }
    std::string have;
    auto s = db_->Get(rocksdb::ReadOptions(), k, &have);
    if (s.ok() && have == value) continue;
    if (!s.ok() && !s.IsNotFound()) return status_error(s, "read");
    batch.Put(k, value);
    ++changed;
  }
  if (changed == 0) return changed;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto s = db_->Write(wo, &batch); !s.ok()) return status_error(s, "write");
  return changed;
}

Result<bool> WorkflowRegistry::record(const std::vector<WorkflowVersion>& versions,
                                      std::vector<AuditRecord> audits) {
  int64_t seq = last_seq(db_, 'a');
  rocksdb::WriteBatch batch;
  for (const auto& v : versions) batch.Put(version_key(v.name, v.version), to_json(v));
  for (auto& a : audits) {
    a.seq = ++seq;
    batch.Put(audit_key(a.seq), to_json(a));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return status_error(s, "write");
  return true;
}

}  // namespace gridcase
