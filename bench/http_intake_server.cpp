// http_intake_server ORG STATE_DIR PORT [THREADS [null]]: the HTTP face exactly as `serve`
// wires it on the embedded log (TokenStore, GroupCommitIntake over a synced LocalLog append,
// HttpServer), without the engine consuming the log in the same process: what the intake
// alone accepts per second (ops/bench/http_bench.sh runs it beside the full `serve`).
// `null`: the append does nothing (the HTTP path's own cost, without the disk).
#include <csignal>
#include <filesystem>
#include <iostream>

#include "connectors/http/server.hpp"
#include "storage/local_log.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  using namespace gridcase;
  if (argc < 4) {
    std::cerr << "usage: http_intake_server ORG STATE_DIR PORT [THREADS]\n";
    return 2;
  }
  Diagnostics d;
  auto org = load_org_file(argv[1], d);
  if (!org) return 2;
  std::filesystem::path state = argv[2];
  auto log = LocalLog::open((state / "log").string());
  auto tokens = http::TokenStore::open((state / "tokens.json").string());
  if (!log.ok() || !tokens.ok()) return 2;
  LocalLog* raw = log.value().get();
  bool null_intake = argc > 5 && std::string(argv[5]) == "null";
  http::GroupCommitIntake intake(
      [raw, null_intake](const std::vector<http::IntakeRecord>& records) -> Result<bool> {
        if (null_intake) return true;
        std::vector<std::pair<std::string, std::string>> kv;
        kv.reserve(records.size());
        for (const auto& r : records) kv.emplace_back(r.key, r.payload);
        auto r = raw->append("gridcase.input", kv);
        if (!r.ok()) return r.error();
        return true;
      });
  http::ApiDeps deps;
  deps.org = &*org;
  deps.tokens = tokens.value().get();
  deps.intake = &intake;
  http::ServerOptions so;
  so.listen = std::string("127.0.0.1:") + argv[3];
  so.threads = argc > 4 ? std::atoi(argv[4]) : 2;
  so.api.rate_per_second = 0;
  auto server = http::HttpServer::start(std::move(deps), so);
  if (!server.ok()) {
    std::cerr << server.error().message << '\n';
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  // Blocked until sigsuspend() waits, so a signal between the check and the wait is not lost.
  sigset_t stop_signals, none;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  sigemptyset(&none);
  while (!g_stop) sigsuspend(&none);
  server.value()->stop();
  auto st = intake.stats();
  std::cerr << "intake: " << st.records << " records in " << st.groups << " synced appends\n";
  return 0;
}
