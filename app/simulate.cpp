#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "app/summary.hpp"
#include "connectors/json_events.hpp"
#include "connectors/jsonl_reader.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"
#include "storage/rocksdb_store.hpp"

namespace gridcase::app {

namespace {

// Case events as JSON Lines on stdout, written in blocks.
class StdoutSink final : public EventSink {
 public:
  ~StdoutSink() override { flush(); }
  void emit(const CaseEvent& e) override {
    json::append_case_event_line(e, buf_);
    buf_.push_back('\n');
    if (buf_.size() >= (1 << 16)) flush();
  }
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), stdout);
    std::fflush(stdout);
    buf_.clear();
  }

 private:
  std::string buf_;
};

// Progress on stderr, at most a few times a second, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void tick(uint64_t lines, uint64_t bytes, uint64_t total_bytes) {
    if (!enabled_ || (lines & 1023) != 0) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    if (total_bytes > 0) {
      std::fprintf(stderr, "\r已处理 %llu 行 (%.0f%%), %.0f 行/秒   ",
                   static_cast<unsigned long long>(lines), 100.0 * bytes / total_bytes,
                   lines / secs);
    } else {
      std::fprintf(stderr, "\r已处理 %llu 行, %.0f 行/秒   ",
                   static_cast<unsigned long long>(lines), lines / secs);
    }
    shown_ = true;
  }
  void done() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

constexpr uint64_t kBatch = 5000;  // input lines per store commit

}  // namespace

int run_simulate(const SimulateOptions& opt) {
  auto loaded = load_engine(opt.org, opt.workflows, opt.state_dir);
  if (!loaded) return 2;
  const Engine& engine = *loaded;

  std::optional<Timestamp> until;
  if (opt.until) {
    auto t = parse_timestamp(*opt.until);
    if (!t.ok()) {
      std::cerr << "gridcase simulate: --until: " << t.error().message << '\n';
      return 2;
    }
    until = *t;
  }

  std::unique_ptr<CaseStore> store;
  if (opt.state_dir) {
    auto s = RocksStore::open(*opt.state_dir, engine);
    if (!s.ok()) {
      std::cerr << "gridcase simulate: --state-dir " << *opt.state_dir << ": " << s.error().message
                << '\n';
      return 2;
    }
    store = std::move(s).value();
  } else {
    store = std::make_unique<MemoryStore>();
  }

  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = "<stdin>";
  uint64_t total_bytes = 0;
  if (opt.events != "-") {
    file.open(opt.events, std::ios::binary);
    if (!file) {
      std::cerr << "gridcase simulate: cannot read events file " << opt.events << '\n';
      return 2;
    }
    in = &file;
    name = opt.events;
    file.seekg(0, std::ios::end);
    total_bytes = static_cast<uint64_t>(file.tellg());
    file.seekg(0);
  }

  StdoutSink sink;
  Processor proc(engine, *store, sink);
  if (auto r = proc.init(); !r.ok()) {
    std::cerr << "gridcase simulate: state: " << r.error().message << '\n';
    return 2;
  }
  Progress progress(opt.progress);
  auto started = std::chrono::steady_clock::now();
  uint64_t n_bad = 0;
  bool bad = false;
  uint64_t lineno = 0, since_commit = 0, total_lines = 0;
  auto report = [&](const char* kind, const std::string& msg) {
    sink.flush();
    std::cerr << name << ':' << lineno << ": " << kind << ": " << msg << '\n';
  };
  json::JsonlReader reader(*in, engine.org());
  for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
    for (json::ParsedLine& p : batch) {
      lineno = p.lineno;
      progress.tick(lineno, p.bytes_end, total_bytes);
      if (!p.event.ok()) {
        report("error", p.event.error().message);
        bad = true;
        ++n_bad;
        continue;
      }
      auto v = proc.process(*p.event);
      for (const auto& w : v.warnings) report("warning", w.message + " (" + w.location + ")");
      if (v.outcome == Processor::Outcome::Bad) {
        report("error", v.error);
        bad = true;
        ++n_bad;
      }
      if (++since_commit >= kBatch) {
        since_commit = 0;
        if (auto r = proc.commit(); !r.ok()) {
          std::cerr << "gridcase simulate: state: " << r.error().message << '\n';
          return 2;
        }
      }
    }
  }
  total_lines = reader.lines_read();
  progress.done();
  if (until) {
    if (auto r = proc.advance_to(*until); !r.ok()) {
      std::cerr << "gridcase simulate: state: " << r.error().message << '\n';
      return 2;
    }
  }
  if (auto r = proc.commit(); !r.ok()) {
    std::cerr << "gridcase simulate: state: " << r.error().message << '\n';
    return 2;
  }
  sink.flush();
  if (opt.cases) {
    if (auto r = write_cases(*opt.cases, engine, *store); !r.ok()) {
      std::cerr << "gridcase simulate: --cases " << *opt.cases << ": " << r.error().message << '\n';
      return 2;
    }
  }
  if (opt.summary) {
    RunStats st;
    st.lines = total_lines;
    st.bad = n_bad;
    st.events_in = proc.events_in();
    st.events_out = proc.events_out();
    st.timers_fired = proc.timers_fired();
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (auto r = print_summary(engine, *store, st, std::cerr); !r.ok()) {
      std::cerr << "gridcase simulate: state: " << r.error().message << '\n';
      return 2;
    }
  }
  return bad ? 1 : 0;
}

}  // namespace gridcase::app
