// inbox_bench: the read models (engine/views.hpp) over a RocksStore with a million cases.
//
//   inbox_bench [--cases N] [--span-hours H] [--ratio-events M] [--rounds R] [--queries Q]
//               [--load-events L] [--dir D] [--org FILE] [--workflows DIR]
//
// 1. Write path: M generated events (the generator's defaults, as ops/bench runs simulate)
//    through the real Processor over RocksStore, committing every 5000 lines as simulate
//    does, with views off and on (R rounds each, alternating); the sink formats every case
//    event as simulate does and, with views on, hands it to record_event() as the Service
//    does. Prints events/s, the ratio, and the store's size on disk.
// 2. Fill: generated reports and actions over H hours of virtual time, through the
//    Processor with views on, until N cases exist.
// 3. Reads: inbox (limit 50) for the county, a township, a village and a grid, first page
//    and a deep page (page 100, or the last one when there are fewer), Q times each:
//    p50/p99/max. Then cases(), summary, timeline, feed and stats.
// 4. The same inbox queries from another thread while the engine takes L more events.
// Without --dir a temp dir is used and removed.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "connectors/json_events.hpp"
#include "connectors/jsonl_reader.hpp"
#include "engine/runtime.hpp"
#include "generator/generator.hpp"
#include "storage/rocksdb_store.hpp"

namespace gridcase {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int64_t cases = 1'000'000;
  double span_hours = 48;
  int64_t ratio_events = 100'000;
  int rounds = 1;
  int queries = 300;
  int64_t load_events = 100'000;
  std::string dir;
  std::string org = std::string(GRIDCASE_SOURCE_DIR) + "/config/org.yaml";
  std::string workflows = std::string(GRIDCASE_SOURCE_DIR) + "/workflows";
  // Internal: one write-path run in a process of its own, so that its peak RSS is its own.
  std::string self;
  int child_views = -1;
  std::string child_file, child_dir;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "inbox_bench: %s\nusage: inbox_bench [--cases N] [--span-hours H] "
               "[--ratio-events M] [--rounds R] [--queries Q] [--load-events L] [--dir D] "
               "[--org FILE] [--workflows DIR]\n",
               why.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  a.self = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) usage(f + ": missing value");
    std::string v = argv[++i];
    auto num = [&]() -> double {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || d < 0) usage(f + ": not a number");
      return d;
    };
    if (f == "--cases") {
      a.cases = static_cast<int64_t>(num());
    } else if (f == "--span-hours") {
      a.span_hours = num();
    } else if (f == "--ratio-events") {
      a.ratio_events = static_cast<int64_t>(num());
    } else if (f == "--rounds") {
      a.rounds = static_cast<int>(num());
    } else if (f == "--queries") {
      a.queries = static_cast<int>(num());
    } else if (f == "--load-events") {
      a.load_events = static_cast<int64_t>(num());
    } else if (f == "--dir") {
      a.dir = v;
    } else if (f == "--org") {
      a.org = v;
    } else if (f == "--workflows") {
      a.workflows = v;
    } else if (f == "--child-views") {
      a.child_views = static_cast<int>(num());
    } else if (f == "--child-file") {
      a.child_file = v;
    } else if (f == "--child-dir") {
      a.child_dir = v;
    } else {
      usage("unknown flag " + f);
    }
  }
  if (a.cases < 1 || a.span_hours <= 0) usage("--cases and --span-hours must be positive");
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t dir_bytes(const fs::path& p) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  }
  return n;
}

std::string proc_status(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      size_t p = line.find_first_not_of(" \t", std::strlen(field));
      return p == std::string::npos ? line : line.substr(p);
    }
  }
  return "?";
}

// Case events as simulate writes them; with views on, also into the store as the Service
// hands them over (the same line).
class BenchSink final : public EventSink {
 public:
  BenchSink(CaseStore& store, bool record) : store_(store), record_(record) {}
  void emit(const CaseEvent& e) override {
    line_.clear();
    json::append_case_event_line(e, line_);
    if (record_) store_.record_event(e, line_);
    ++events;
    if (e.type == "opened") ++opened;
  }
  uint64_t events = 0;
  uint64_t opened = 0;

 private:
  CaseStore& store_;
  bool record_;
  std::string line_;
};

// A generated stream fed through the Processor, simulate-style.
class Feeder {
 public:
  Feeder(const Engine& engine, CaseStore& store, bool views, const std::string& file)
      : in_(file, std::ios::binary),
        reader_(in_, engine.org()),
        sink_(store, views),
        proc_(engine, store, sink_) {}
  Result<bool> init() { return proc_.init(); }

  // Lines until `stop` says so or the stream ends; commits every 5000 lines and at the end.
  template <typename Stop>
  Result<uint64_t> run(Stop stop) {
    uint64_t n = 0;
    for (;;) {
      if (pending_.empty()) {
        pending_ = reader_.next();
        next_ = 0;
        if (pending_.empty()) break;
      }
      if (stop()) break;
      json::ParsedLine& p = pending_[next_++];
      ++n;
      if (!p.event.ok())
        return err("line " + std::to_string(p.lineno) + ": " + p.event.error().message);
      if (first_at_.ms == 0) first_at_ = p.event->at;
      (void)proc_.process(*p.event);  // rejected actions are part of a realistic stream
      if (next_ == pending_.size()) pending_.clear();
      if (++since_commit_ >= 5000) {
        since_commit_ = 0;
        if (auto r = proc_.commit(); !r.ok()) return r.error();
      }
    }
    if (auto r = proc_.commit(); !r.ok()) return r.error();
    since_commit_ = 0;
    return n;
  }
  const BenchSink& sink() const { return sink_; }
  uint64_t timers_fired() const { return proc_.timers_fired(); }
  // The virtual time covered so far.
  double hours() const { return static_cast<double>((proc_.clock() - first_at_).ms) / 3.6e6; }

 private:
  std::ifstream in_;
  json::JsonlReader reader_;
  BenchSink sink_;
  Processor proc_;
  std::vector<json::ParsedLine> pending_;
  size_t next_ = 0;
  uint64_t since_commit_ = 0;
  Timestamp first_at_{0};
};

struct Latency {
  std::vector<double> ms;
  void add(Clock::time_point t0) {
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  double pct(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(ms.size()))) - 1;
    return ms[std::min(i, ms.size() - 1)];
  }
  std::string line() {
    char buf[128];
    std::snprintf(buf, sizeof buf, "p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  (n=%zu)", pct(50),
                  pct(99), pct(100), ms.size());
    return buf;
  }
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "inbox_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const std::string& what) {
  if (!r.ok()) fail(what + ": " + r.error().message);
  return std::move(r).value();
}

std::unique_ptr<RocksStore> open_store(const std::string& dir, const Engine& engine, bool views) {
  RocksOptions o;  // simulate's defaults
  o.views = views;
  return must(RocksStore::open(dir, engine, o), "open " + dir);
}

// In a child process, so that the generator's memory never counts in this one's peak RSS
// (called while this process has no other thread: fork() is safe).
void generate_file(const Engine& engine, const gen::Options& opt, const std::string& path) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) fail("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    std::ofstream out(path, std::ios::binary);
    gen::generate(engine.org(), opt, out);
    out.close();
    ::_exit(out ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("cannot write " + path);
  }
}

// Per column family: SST bytes after flushing the memtables (the store closed and opened
// again; compressed as the store's options say, not compacted further).
void print_families(const std::string& dir) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) return;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  RocksOptions ro;
  ro.views = true;
  auto cache = rocksdb::NewLRUCache(ro.block_cache_bytes);
  for (const auto& n : names) descs.emplace_back(n, rocks_cf_options(ro, n, cache));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(rocksdb::DBOptions(), dir, descs, &handles, &db).ok()) return;
  uint64_t views = 0, total = 0;
  rocksdb::FlushOptions fo;
  fo.wait = true;
  db->Flush(fo, handles).PermitUncheckedError();
  for (size_t i = 0; i < names.size(); ++i) {
    uint64_t sst = 0, mem = 0;  // memtables are empty after the flush
    db->GetIntProperty(handles[i], "rocksdb.total-sst-files-size", &sst);
    bool is_view = std::find(std::begin(kViewCfNames), std::end(kViewCfNames), names[i]) !=
                   std::end(kViewCfNames);
    if (is_view) views += sst + mem;
    total += sst + mem;
    std::printf("    %-12s %9.1f MB%s\n", names[i].c_str(), (sst + mem) / 1e6,
                is_view ? "  (views)" : "");
  }
  std::printf("    views: %.1f MB of %.1f MB\n", views / 1e6, total / 1e6);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete db;
}

int run(const Args& args) {
  Diagnostics diags;
  auto org = load_org_file(args.org, diags);
  std::optional<std::vector<Workflow>> wfs;
  if (org) wfs = load_workflows({args.workflows}, &*org, diags);
  if (!org || !wfs) {
    for (const auto& d : diags.all()) std::fprintf(stderr, "%s\n", d.format().c_str());
    return 2;
  }
  Engine engine(std::make_shared<const Org>(std::move(*org)), std::move(*wfs));
  const Org& o = engine.org();

  if (args.child_views >= 0) {
    // One write-path run (see --child-views): RESULT lines events seconds peak_kb bytes.
    bool views = args.child_views == 1;
    uint64_t lines = 0, events = 0;
    double secs = 0;
    {
      auto store = open_store(args.child_dir, engine, views);
      Feeder f(engine, *store, views, args.child_file);
      must(f.init(), "init");
      auto t0 = Clock::now();
      lines = must(f.run([] { return false; }), "run");
      secs = seconds_since(t0);
      events = f.sink().events;
    }
    std::string hwm = proc_status("VmHWM:");
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);  // all threads: the engine's and RocksDB's
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    uint64_t bytes = dir_bytes(args.child_dir);
    if (views) print_families(args.child_dir);
    std::printf("RESULT %llu %llu %.3f %llu %llu %.3f\n", static_cast<unsigned long long>(lines),
                static_cast<unsigned long long>(events), secs,
                static_cast<unsigned long long>(std::strtoull(hwm.c_str(), nullptr, 10)),
                static_cast<unsigned long long>(bytes), cpu);
    return 0;
  }

  bool own_dir = args.dir.empty();
  std::string dir = args.dir;
  if (own_dir) {
    std::string tmpl = (fs::temp_directory_path() / "inbox-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("mkdtemp: " + std::string(std::strerror(errno)));
    dir = tmpl;
  }
  fs::create_directories(dir);
  std::printf("inbox_bench: %zu units, %zu grids; dir %s\n", o.units.size(), o.grids().size(),
              dir.c_str());

  // ---- 1. the write path, views off and on ----
  if (args.ratio_events > 0) {
    std::string file = dir + "/ratio.jsonl";
    gen::Options g;
    g.seed = 7;
    g.events = args.ratio_events;
    generate_file(engine, g, file);
    std::printf("\n1. write path: %lld generated events (generator defaults), commit every 5000\n",
                static_cast<long long>(args.ratio_events));
    double best[2] = {0, 0};
    uint64_t bytes[2] = {0, 0}, peak_kb[2] = {0, 0};
    double best_cpu[2] = {0, 0};
    for (int round = 0; round < args.rounds; ++round) {
      for (int views = 0; views < 2; ++views) {
        std::string sdir = dir + "/ratio-" + std::to_string(views);
        fs::remove_all(sdir);
        std::string cmd = "'" + args.self + "' --child-views " + std::to_string(views) +
                          " --child-file '" + file + "' --child-dir '" + sdir + "' --org '" +
                          args.org + "' --workflows '" + args.workflows + "'";
        FILE* child = ::popen(cmd.c_str(), "r");
        if (!child) fail("cannot run " + cmd);
        char buf[512];
        double rate = 0;
        while (std::fgets(buf, sizeof buf, child)) {
          unsigned long long lines = 0, events = 0, hwm = 0, b = 0;
          double secs = 0, cpu = 0;
          if (std::sscanf(buf, "RESULT %llu %llu %lf %llu %llu %lf", &lines, &events, &secs, &hwm,
                          &b, &cpu) == 6) {
            rate = static_cast<double>(lines) / secs;
            best[views] = std::max(best[views], rate);
            best_cpu[views] = best_cpu[views] == 0 ? cpu : std::min(best_cpu[views], cpu);
            bytes[views] = b;
            peak_kb[views] = std::max<uint64_t>(peak_kb[views], hwm);
            std::printf(
                "   views %-3s: %8.0f input events/s (%llu lines, %llu case events, %.2f s, "
                "CPU %.2f s, peak RSS %.0f MB)\n",
                views ? "on" : "off", rate, lines, events, secs, cpu, hwm / 1024.0);
          } else if (round == 0) {
            std::fputs(buf, stdout);  // the views-on store's families
          }
        }
        if (::pclose(child) != 0 || rate == 0) fail("write-path run failed: " + cmd);
        fs::remove_all(sdir);
      }
    }
    std::printf(
        "   ratio on/off (best of %d): %.3f  (views cost %.1f%% of throughput); CPU "
        "time on/off (all threads) %.2f\n",
        args.rounds, best[1] / best[0], 100.0 * (1 - best[1] / best[0]), best_cpu[1] / best_cpu[0]);
    std::printf("   on disk after close: off %.1f MB, on %.1f MB (+%.1f MB)\n", bytes[0] / 1e6,
                bytes[1] / 1e6, (static_cast<double>(bytes[1]) - bytes[0]) / 1e6);
    std::printf("   peak RSS: off %.0f MB, on %.0f MB\n", peak_kb[0] / 1024.0, peak_kb[1] / 1024.0);
    fs::remove(file);
  }

  // ---- 2. fill ----
  int64_t households = 0;
  for (UnitIdx g : o.grids())
    households += std::max<int64_t>(1, o.units[g].households.value_or(100));
  gen::Options g;
  g.seed = 11;
  g.action_share = 0.3;
  g.flood_week = false;
  // Reports are (1 - action_share) of the lines, a few of them merge into open cases.
  g.events = static_cast<int64_t>(static_cast<double>(args.cases) / 0.66) + args.load_events;
  // The generator draws gaps between reports in whole seconds (truncated), thinned to its
  // day shape (peak/mean dmax): for R reports a second the mean candidate gap must be
  // 1 / ln(1 + R dmax) seconds, so that dmax candidates take 1/R seconds on average.
  {
    constexpr double kShape[24] = {0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.6,
                                   1.5,  1.5,  1.5,  1.5,  1.0,  1.0,  1.5,  1.5,
                                   1.5,  1.5,  1.5,  0.8,  0.8,  0.8,  0.3,  0.3};
    double sum = 0, peak = 0;
    for (double x : kShape) sum += x, peak = std::max(peak, x);
    const double dmax = peak * 24 / sum;
    const double r = static_cast<double>(args.cases) / (args.span_hours * 3600);
    const double base_per_s = std::log1p(r * dmax) / dmax;
    g.reports_per_household_day = base_per_s * 86400 / static_cast<double>(households);
  }
  std::string file = dir + "/fill.jsonl";
  auto tg = Clock::now();
  generate_file(engine, g, file);
  std::printf("\n2. fill: %lld generated lines over ~%.0f h of virtual time (%.1f s to generate)\n",
              static_cast<long long>(g.events), args.span_hours, seconds_since(tg));
  std::string sdir = dir + "/store";
  fs::remove_all(sdir);
  auto store = open_store(sdir, engine, true);
  auto views = store->views();
  Feeder feeder(engine, *store, true, file);
  must(feeder.init(), "init");
  auto t0 = Clock::now();
  const uint64_t want = static_cast<uint64_t>(args.cases);
  uint64_t lines = must(feeder.run([&] { return feeder.sink().opened >= want; }), "fill");
  double s = seconds_since(t0);
  std::printf(
      "   %llu cases from %llu lines (%.1f h of virtual time) in %.1f s (%.0f lines/s, %llu case "
      "events, %llu timers fired), feed head %llu\n",
      static_cast<unsigned long long>(feeder.sink().opened), static_cast<unsigned long long>(lines),
      feeder.hours(), s, static_cast<double>(lines) / s,
      static_cast<unsigned long long>(feeder.sink().events),
      static_cast<unsigned long long>(feeder.timers_fired()),
      static_cast<unsigned long long>(views->feed_head()));
  std::printf("   peak RSS: %s\n", proc_status("VmHWM:").c_str());

  // ---- 3. reads ----
  // The county, its biggest township, that township's first village and first grid.
  UnitIdx county = kNoUnit;
  for (size_t i = 0; i < o.units.size(); ++i) {
    if (o.units[i].parent == kNoUnit) county = static_cast<UnitIdx>(i);
  }
  auto biggest_child = [&](UnitIdx u) {
    UnitIdx best = kNoUnit;
    size_t best_n = 0;
    for (UnitIdx c : o.units[u].children) {
      size_t n = 0;
      for (UnitIdx gi : o.grids()) n += o.in_subtree(gi, c) ? 1 : 0;
      if (best == kNoUnit || n > best_n) best = c, best_n = n;
    }
    return best;
  };
  UnitIdx township = biggest_child(county);
  UnitIdx village = o.units[township].children.front();
  UnitIdx grid = o.units[village].children.front();

  struct Probe {
    std::string label;
    CaseQuery q;
  };
  std::vector<Probe> probes;
  std::printf("\n3. reads (limit 50), %d times each, engine idle\n", args.queries);
  for (UnitIdx u : {county, township, village, grid}) {
    const std::string& id = o.units[u].id;
    CaseQuery q;
    q.unit = id;
    q.limit = 50;
    // Count the open cases of the subtree, and find page 100 (or the last).
    size_t open = 0;
    CaseQuery all = q;
    all.limit = 1000;
    for (;;) {
      auto p = must(views->inbox(all), "inbox");
      open += p.items.size();
      if (p.next_cursor.empty()) break;
      all.cursor = p.next_cursor;
    }
    CaseQuery deep = q;
    int page = 1;
    for (; page < 100; ++page) {
      auto p = must(views->inbox(deep), "inbox");
      if (p.next_cursor.empty()) break;
      CaseQuery next = deep;
      next.cursor = p.next_cursor;
      auto probe = must(views->inbox(next), "inbox");
      if (probe.items.empty()) break;
      deep = next;
    }
    std::string level = o.levels[o.units[u].level];
    std::printf("   %-8s %-12s %7zu open cases in its inbox\n", level.c_str(), id.c_str(), open);
    probes.push_back({level + " " + id + " first page", q});
    probes.push_back({level + " " + id + " page " + std::to_string(page), deep});
  }
  for (auto& p : probes) {
    Latency lat;
    size_t items = 0;
    for (int i = 0; i < args.queries; ++i) {
      auto t = Clock::now();
      auto r = must(views->inbox(p.q), "inbox");
      lat.add(t);
      items = r.items.size();
    }
    std::printf("   inbox %-34s %s  %zu items\n", p.label.c_str(), lat.line().c_str(), items);
  }

  // Other reads: random cases and feed positions.
  std::mt19937_64 rng(5);
  std::vector<std::string> ids;
  {
    CaseQuery q;
    q.unit = o.units[county].id;
    q.limit = 1000;
    auto p = must(views->cases(q), "cases");
    for (auto& c : p.items) ids.push_back(c.case_id);
    Latency lat;
    q.limit = 50;
    for (int i = 0; i < args.queries; ++i) {
      auto t = Clock::now();
      (void)must(views->cases(q), "cases");
      lat.add(t);
    }
    std::printf("   cases county first page               %s\n", lat.line().c_str());
  }
  {
    Latency sum, tl, fd;
    uint64_t head = views->feed_head();
    for (int i = 0; i < args.queries && !ids.empty(); ++i) {
      const std::string& id = ids[rng() % ids.size()];
      auto t = Clock::now();
      (void)must(views->summary(id), "summary");
      sum.add(t);
      t = Clock::now();
      (void)must(views->timeline(id), "timeline");
      tl.add(t);
      t = Clock::now();
      (void)must(views->feed(rng() % head, 100), "feed");
      fd.add(t);
    }
    std::printf("   summary                                %s\n", sum.line().c_str());
    std::printf("   timeline                               %s\n", tl.line().c_str());
    std::printf("   feed (100 entries, random position)    %s\n", fd.line().c_str());
  }
  for (UnitIdx u : {grid, village, township, county}) {
    auto t = Clock::now();
    auto st =
        must(views->stats(o.units[u].id, Timestamp{INT64_MIN}, Timestamp{INT64_MAX}), "stats");
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    std::printf("   stats %-12s %9.1f ms  (%lld cases, %lld closed, %.1f%% closed at grid)\n",
                o.units[u].id.c_str(), ms, static_cast<long long>(st.opened),
                static_cast<long long>(st.closed), 100 * st.closed_at_grid_share);
  }

  // ---- 4. reads while the engine writes ----
  if (args.load_events > 0) {
    std::atomic<bool> done{false};
    std::vector<Latency> lat(probes.size());
    std::thread reader([&] {
      // Readers of the HTTP API: their own CaseViews, as the HTTP layer would hold.
      auto v = store->views();
      for (size_t i = 0; !done.load(); i = (i + 1) % probes.size()) {
        auto t = Clock::now();
        auto r = v->inbox(probes[i].q);
        lat[i].add(t);
        if (!r.ok()) fail("inbox under load: " + r.error().message);
      }
    });
    auto tl = Clock::now();
    uint64_t more = must(feeder.run([] { return false; }), "load");
    double ls = seconds_since(tl);
    done.store(true);
    reader.join();
    std::printf(
        "\n4. the same reads from another thread while the engine takes %llu more lines "
        "(%.0f lines/s meanwhile)\n",
        static_cast<unsigned long long>(more), static_cast<double>(more) / ls);
    for (size_t i = 0; i < probes.size(); ++i) {
      std::printf("   inbox %-34s %s\n", probes[i].label.c_str(), lat[i].line().c_str());
    }
  }

  views.reset();
  store.reset();
  std::printf("\n   peak RSS of the fill and the reads: %s\n", proc_status("VmHWM:").c_str());
  fs::remove(file);
  std::printf("   store on disk after close: %.1f MB (WAL included); live data by family:\n",
              dir_bytes(sdir) / 1e6);
  print_families(sdir);
  if (own_dir) fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace gridcase

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it comes
  return gridcase::run(gridcase::parse(argc, argv));
}
