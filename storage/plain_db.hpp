#pragma once
// Internal to storage/: a RocksDB with default options and one column family, created if
// missing (the embedded log, the workflow registry).
#include <rocksdb/db.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace gridcase::storage_detail {

// "WHO: WHAT: <status>".
inline Error status_error(std::string_view who, const rocksdb::Status& s, const std::string& what) {
  return err(std::string(who) + ": " + what + ": " + s.ToString());
}

// Opens (creating) the database in `dir`; the caller owns the pointer.
inline Result<rocksdb::DB*> open_plain_db(const std::string& dir, std::string_view who) {
  rocksdb::Options o;
  o.create_if_missing = true;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) return status_error(who, s, "open " + dir);
  return db;
}

}  // namespace gridcase::storage_detail
