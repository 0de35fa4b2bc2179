// gridcase whatif: one recorded input, two rule sets, side by side (docs/lifecycle.md).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "connectors/jsonl_reader.hpp"
#include "whatif/whatif.hpp"

namespace gridcase::app {

namespace {

// On a terminal a bar redrawn in place; otherwise a line every 10 %.
class ReplayProgress {
 public:
  explicit ReplayProgress(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO)) {}
  void operator()(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    int percent = static_cast<int>(done * 100 / total);
    if (tty_) {
      if (percent == last_ && done != total) return;
      last_ = percent;
      int filled = percent * 30 / 100;
      std::fprintf(stderr, "\r回放 replay [%s%s] %3d%%", std::string(filled, '#').c_str(),
                   std::string(30 - filled, '.').c_str(), percent);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      int step = percent / 10 * 10;
      if (step <= last_) return;
      last_ = step;
      std::fprintf(stderr, "回放 replay: %d%% (%llu/%llu)\n", step,
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    }
  }

 private:
  bool enabled_;
  bool tty_;
  int last_ = -1;
};

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f << text;
  return static_cast<bool>(f.flush());
}

}  // namespace

int run_whatif(const WhatifOptions& opt) {
  auto old_engine = load_engine(opt.org, opt.workflows);
  if (!old_engine) return 2;
  auto new_engine = load_engine(opt.org, opt.against);
  if (!new_engine) return 2;

  std::optional<Timestamp> until;
  if (opt.until) {
    auto t = parse_timestamp(*opt.until);
    if (!t.ok()) {
      std::cerr << "gridcase whatif: --until: " << t.error().message << '\n';
      return 2;
    }
    until = *t;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = "<stdin>";
  if (opt.events != "-") {
    file.open(opt.events, std::ios::binary);
    if (!file) {
      std::cerr << "gridcase whatif: cannot read events file " << opt.events << '\n';
      return 2;
    }
    in = &file;
    name = opt.events;
  }
  // Parse once; both replays see exactly the same events. Lines that do not parse are
  // reported as simulate reports them and skipped on both sides.
  std::vector<InputEvent> inputs;
  uint64_t bad = 0;
  {
    json::JsonlReader reader(*in, old_engine->org());
    for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
      for (json::ParsedLine& p : batch) {
        if (!p.event.ok()) {
          std::cerr << name << ':' << p.lineno << ": error: " << p.event.error().message << '\n';
          ++bad;
          continue;
        }
        inputs.push_back(std::move(p.event).value());
      }
    }
  }
  ReplayProgress progress(opt.progress);
  whatif::Report report =
      whatif::compare(*old_engine, *new_engine, inputs, until,
                      [&](uint64_t done, uint64_t total) { progress(done, total); });
  report.bad_lines = bad;
  if (opt.html) {
    std::string title =
        "规则变更预演 what-if: " + join_paths(opt.workflows) + " → " + join_paths(opt.against);
    if (!write_file(*opt.html, whatif::to_html(report, title))) {
      std::cerr << "gridcase whatif: cannot write " << *opt.html << '\n';
      return 2;
    }
  }
  std::cout << (opt.json ? whatif::to_json(report) + "\n" : whatif::to_table(report));
  return 0;
}

std::string join_paths(const std::vector<std::string>& paths) {
  std::string s;
  for (const auto& p : paths) s += (s.empty() ? "" : ",") + p;
  return s;
}

}  // namespace gridcase::app
