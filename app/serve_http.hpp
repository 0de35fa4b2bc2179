#pragma once
// The HTTP face of `gridcase serve`, wired beside the engine loop: reports and actions go
// into the same input topic the service reads (the embedded log or Kafka), and the
// service reports each committed batch, so each action is answered with its outcome.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/commands.hpp"
#include "engine/service.hpp"

namespace gridcase {
class Org;
class LocalLog;
class CaseViews;
class Engine;
}  // namespace gridcase

namespace gridcase::app {

class HttpFace {
 public:
  // nullopt: the configuration is wrong or the server cannot start (logged). A null
  // pointer: HTTP is not configured (no --http, no http.listen). `store_gauges` gives
  // Prometheus lines about the store for /metrics (called on the HTTP threads). `engine`
  // (may be null): the workflows whose actions the case view offers and whose versions the
  // administrators' endpoints list; read on the engine thread only (start, after_batch).
  static std::optional<std::unique_ptr<HttpFace>> start(const ServeOptions& opt, const Org& org,
                                                        LocalLog* log,
                                                        std::shared_ptr<CaseViews> views,
                                                        std::function<std::string()> store_gauges,
                                                        const Engine* engine = nullptr);
  ~HttpFace();
  // Whether start() will run a server for these options (then the store keeps its views).
  static bool wanted(const ServeOptions& opt);

  // Sets options.on_batch: actions waiting over HTTP get the engine's outcome.
  void observe(ServiceOptions& options);
  // After every run_once(): outcomes to waiting requests, SSE wake-up, metrics.
  void after_batch(const ServiceStats& stats, double seconds, bool ok);

  struct Impl;

 private:
  explicit HttpFace(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridcase::app
