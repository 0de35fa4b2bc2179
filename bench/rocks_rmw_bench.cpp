// rocks_rmw: the bare RocksDB read-modify-write loop, with the options RocksStore uses for its
// `cases` column family. get(key) -> change the value -> put(key), K puts per WriteBatch.
// This is the ceiling a simulate run over RocksStore is compared to.
//
//   rocks_rmw [--keys N] [--value-size B] [--batch K] [--dir D] [--sequential]
//
// The keys are written once first (not timed); the timed pass then visits every key once,
// in a shuffled order unless --sequential. Without --dir a temp dir is used and removed.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "storage/rocksdb_store.hpp"

namespace {

struct Args {
  uint64_t keys = 1'000'000;
  size_t value_size = 300;
  uint64_t batch = 1000;
  std::string dir;
  bool sequential = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "rocks_rmw: %s\nusage: rocks_rmw [--keys N] [--value-size B] [--batch K] [--dir D] "
               "[--sequential]\n",
               why);
  std::exit(2);
}

uint64_t number(const char* flag, const char* text) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v == 0)
    usage((std::string(flag) + ": not a positive number").c_str());
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--sequential") {
      a.sequential = true;
      continue;
    }
    if (i + 1 >= argc) usage((f + ": missing value").c_str());
    const char* v = argv[++i];
    if (f == "--keys") {
      a.keys = number("--keys", v);
    } else if (f == "--value-size") {
      a.value_size = number("--value-size", v);
    } else if (f == "--batch") {
      a.batch = number("--batch", v);
    } else if (f == "--dir") {
      a.dir = v;
    } else {
      usage(("unknown flag " + f).c_str());
    }
  }
  if (a.value_size < 8) usage("--value-size: at least 8 bytes (the counter)");
  return a;
}

// Ids shaped like report ids; the value is a counter followed by text-like filler (case
// encodings compress somewhat, random bytes would not).
std::string key_of(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "r-%010llu", static_cast<unsigned long long>(i));
  return buf;
}

std::string initial_value(uint64_t i, size_t size) {
  static const char kWords[] = "grid-escalation handling village jjbl-c1-g01 flood@h-12 severity ";
  std::string v(size, '\0');
  for (size_t j = 8; j < size; ++j) v[j] = kWords[(i * 7 + j) % (sizeof kWords - 1)];
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  bool own_dir = args.dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rocks-rmw-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("rocks_rmw: mkdtemp");
      return 1;
    }
    args.dir = tmpl;
  }

  gridcase::RocksOptions ropts;  // the store's defaults, as simulate opens it
  auto cache = rocksdb::NewLRUCache(ropts.block_cache_bytes);
  rocksdb::Options options(
      gridcase::rocks_db_options(ropts),
      gridcase::rocks_cf_options(ropts, gridcase::RocksStore::kCasesCf, cache));
  rocksdb::WriteOptions wo = gridcase::rocks_write_options(ropts);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, args.dir + "/db", &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "rocks_rmw: open %s: %s\n", args.dir.c_str(), s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  auto t0 = std::chrono::steady_clock::now();
  {
    rocksdb::WriteBatch b;
    for (uint64_t i = 0; i < args.keys; ++i) {
      b.Put(key_of(i), initial_value(i, args.value_size));
      if (b.Count() >= args.batch || i + 1 == args.keys) {
        if (s = db->Write(wo, &b); !s.ok()) break;
        b.Clear();
      }
    }
  }
  if (!s.ok()) {
    std::fprintf(stderr, "rocks_rmw: fill: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "fill: %llu keys in %.2f s\n", static_cast<unsigned long long>(args.keys),
               seconds_since(t0));

  std::vector<uint64_t> order(args.keys);
  std::iota(order.begin(), order.end(), 0);
  if (!args.sequential) std::shuffle(order.begin(), order.end(), std::mt19937_64(42));

  rocksdb::ReadOptions ro;
  rocksdb::PinnableSlice got;
  std::string key, value;
  rocksdb::WriteBatch b;
  uint64_t missing = 0;
  t0 = std::chrono::steady_clock::now();
  for (uint64_t n = 0; n < args.keys; ++n) {
    key = key_of(order[n]);
    got.Reset();
    s = db->Get(ro, db->DefaultColumnFamily(), key, &got);
    if (s.IsNotFound()) {
      ++missing;
      value = initial_value(order[n], args.value_size);
    } else if (!s.ok()) {
      break;
    } else {
      value.assign(got.data(), got.size());
    }
    uint64_t counter;
    std::memcpy(&counter, value.data(), sizeof counter);
    ++counter;
    std::memcpy(value.data(), &counter, sizeof counter);
    b.Put(key, value);
    if (b.Count() >= args.batch || n + 1 == args.keys) {
      if (s = db->Write(wo, &b); !s.ok()) break;
      b.Clear();
    }
  }
  double secs = seconds_since(t0);
  if (!s.ok()) {
    std::fprintf(stderr, "rocks_rmw: %s\n", s.ToString().c_str());
    return 1;
  }
  if (missing > 0) {
    std::fprintf(stderr, "rocks_rmw: %llu keys were missing\n",
                 static_cast<unsigned long long>(missing));
    return 1;
  }
  std::printf("rmw: %llu ops in %.2f s = %.0f ops/s\n", static_cast<unsigned long long>(args.keys),
              secs, static_cast<double>(args.keys) / secs);

  db->Close().PermitUncheckedError();
  db.reset();
  if (own_dir) std::filesystem::remove_all(args.dir);
  return 0;
}
