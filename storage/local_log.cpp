#include "storage/local_log.hpp"
#include "storage/plain_db.hpp"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gridcase {

namespace fs = std::filesystem;

namespace {

std::string record_key(const std::string& topic, int64_t offset) {
  std::string k = topic;
  k.push_back('\0');
  for (int i = 7; i >= 0; --i)
    k.push_back(static_cast<char>((static_cast<uint64_t>(offset) >> (8 * i)) & 0xff));
  return k;
}

int64_t key_offset(std::string_view k) {
  uint64_t v = 0;
  for (size_t i = k.size() - 8; i < k.size(); ++i) v = (v << 8) | static_cast<unsigned char>(k[i]);
  return static_cast<int64_t>(v);
}

std::string record_value(const std::string& key, const std::string& value) {
  std::string v;
  uint32_t n = static_cast<uint32_t>(key.size());
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  v += key;
  v += value;
  return v;
}

bool split_value(std::string_view v, std::string& key, std::string& value) {
  if (v.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n |= static_cast<uint32_t>(static_cast<unsigned char>(v[i])) << (8 * i);
  if (v.size() < 4 + n) return false;
  key.assign(v.substr(4, n));
  value.assign(v.substr(4 + n));
  return true;
}

Error status_error(const rocksdb::Status& s, const std::string& what) {
  return storage_detail::status_error("local log", s, what);
}

}  // namespace

Result<std::unique_ptr<LocalLog>> LocalLog::open(const std::string& dir) {
  auto db = storage_detail::open_plain_db(dir, "local log");
  if (!db.ok()) return db.error();
  std::unique_ptr<LocalLog> log(new LocalLog());
  log->db_ = *db;
  return log;
}

Result<std::unique_ptr<LocalLog>> LocalLog::open_follower(const std::string& dir,
                                                          const std::string& scratch_dir) {
  rocksdb::Options o;
  o.max_open_files = -1;
  std::error_code ec;
  fs::create_directories(scratch_dir, ec);
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::OpenAsSecondary(o, dir, scratch_dir, &db);
  if (!s.ok()) return status_error(s, "open " + dir + " to follow");
  std::unique_ptr<LocalLog> log(new LocalLog());
  log->db_ = db;
  log->follower_ = true;
  return log;
}

LocalLog::~LocalLog() {
  delete db_;
}

Result<bool> LocalLog::catch_up() {
  auto s = db_->TryCatchUpWithPrimary();
  if (!s.ok()) return status_error(s, "catch up");
  std::lock_guard lock(mu_);
  ends_.clear();
  return true;
}

int64_t LocalLog::end_offset(const std::string& topic) {
  std::lock_guard lock(mu_);
  return end_offset_locked(topic);
}

int64_t LocalLog::end_offset_locked(const std::string& topic) {
  for (const auto& [t, end] : ends_) {
    if (t == topic) return end;
  }
  // The last key of the topic, found by seeking just past the topic's range.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string upper = topic;
  upper.push_back('\x01');
  it->SeekForPrev(upper);
  int64_t end = 0;
  std::string prefix = topic;
  prefix.push_back('\0');
  if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8) {
    end = key_offset(it->key().ToStringView()) + 1;
  }
  ends_.emplace_back(topic, end);
  return end;
}

bool LocalLog::has_marker(const std::string& marker) {
  std::string v;
  return db_->Get(rocksdb::ReadOptions(), "\x01marker/" + marker, &v).ok();
}

std::mutex& LocalLog::topic_mutex(const std::string& topic) {
  std::lock_guard lock(mu_);
  for (auto& [t, m] : topic_mu_) {
    if (t == topic) return *m;
  }
  topic_mu_.emplace_back(topic, std::make_unique<std::mutex>());
  return *topic_mu_.back().second;
}

Result<int64_t> LocalLog::append(const std::string& topic,
                                 const std::vector<std::pair<std::string, std::string>>& records,
                                 const std::string& marker) {
  if (follower_) return err("local log: a follower cannot append");
  std::lock_guard topic_lock(topic_mutex(topic));
  int64_t first = end_offset(topic);
  rocksdb::WriteBatch batch;
  int64_t off = first;
  for (const auto& [k, v] : records) batch.Put(record_key(topic, off++), record_value(k, v));
  if (!marker.empty()) batch.Put("\x01marker/" + marker, "");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return status_error(s, "append to " + topic);
  std::lock_guard lock(mu_);
  for (auto& [t, end] : ends_) {
    if (t == topic) end = off;
  }
  return first;
}

Result<std::vector<SourceRecord>> LocalLog::read(const std::string& topic, int64_t from,
                                                 size_t max) {
  std::vector<SourceRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = topic;
  prefix.push_back('\0');
  for (it->Seek(record_key(topic, from)); it->Valid() && out.size() < max; it->Next()) {
    if (!it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) break;
    SourceRecord r;
    r.topic = topic;
    r.offset = key_offset(it->key().ToStringView());
    if (!split_value(it->value().ToStringView(), r.key, r.payload)) {
      return err("local log: record " + topic + "@" + std::to_string(r.offset) + " is damaged");
    }
    out.push_back(std::move(r));
  }
  if (!it->status().ok()) return status_error(it->status(), "read " + topic);
  return out;
}

LocalLogSource::LocalLogSource(LocalLog& log, std::string topic, std::string spool_dir)
    : log_(log), topic_(std::move(topic)), spool_(std::move(spool_dir)) {}

Result<bool> LocalLogSource::seek(const std::vector<SourcePosition>& positions) {
  next_ = 0;
  for (const auto& p : positions) {
    if (p.topic == topic_ && p.partition == 0) next_ = p.next_offset;
  }
  return true;
}

Result<size_t> LocalLogSource::ingest_spool() {
  std::error_code ec;
  if (!fs::is_directory(spool_, ec)) return size_t{0};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(spool_, ec)) {
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  size_t added = 0;
  for (const auto& f : files) {
    std::string name = f.filename().string();
    if (!log_.has_marker("spool/" + name)) {
      std::ifstream in(f, std::ios::binary);
      std::vector<std::pair<std::string, std::string>> records;
      std::string line;
      while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        records.emplace_back("", line);  // the key (origin grid) is not needed locally
      }
      auto r = log_.append(topic_, records, "spool/" + name);
      if (!r.ok()) return r.error();
      added += records.size();
    }
    fs::remove(f, ec);
  }
  return added;
}

Result<std::vector<SourceRecord>> LocalLogSource::poll(size_t max, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto r = ingest_spool(); !r.ok()) return r.error();
    auto recs = log_.read(topic_, next_, max);
    if (!recs.ok()) return recs.error();
    if (!recs->empty()) {
      next_ = recs->back().offset + 1;
      return recs;
    }
    if (std::chrono::steady_clock::now() >= deadline) return recs;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 50)));
  }
}

Result<bool> LocalLogSink::publish(const std::vector<OutMessage>& messages) {
  // Grouped by topic, in order; each group in one synced write.
  size_t i = 0;
  while (i < messages.size()) {
    const std::string& topic = messages[i].topic;
    std::vector<std::pair<std::string, std::string>> group;
    size_t j = i;
    for (; j < messages.size() && messages[j].topic == topic; ++j) {
      group.emplace_back(messages[j].key, messages[j].value);
    }
    if (auto r = log_.append(topic, group); !r.ok()) return r.error();
    i = j;
  }
  return true;
}

Result<bool> spool_write(const std::string& spool_dir, const std::string& content) {
  std::error_code ec;
  fs::create_directories(spool_dir, ec);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::ostringstream name;
  name << std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() << "-" << ::getpid();
  fs::path tmp = fs::path(spool_dir) / (name.str() + ".tmp");
  fs::path final_path = fs::path(spool_dir) / (name.str() + ".jsonl");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return err("cannot write " + tmp.string());
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      return err("write failed: " + tmp.string());
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return err("fsync failed: " + tmp.string());
  fs::rename(tmp, final_path, ec);
  if (ec) return err("cannot rename " + tmp.string() + ": " + ec.message());
  int dfd = ::open(spool_dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace gridcase
