#pragma once
// The HTTP/1.1 server of `gridcase serve` (Boost.Beast on Asio): keep-alive, N threads,
// a timeout on every read and write, body limits per route, the SSE stream. The handlers
// live in api.hpp; this file is the protocol only.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/http/api.hpp"

namespace gridcase::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT ("[::1]:8080"; port 0 = any free)
  int threads = 2;
  std::chrono::milliseconds read_timeout{10000};   // headers, then body; also each write
  std::chrono::milliseconds sse_heartbeat{15000};  // a comment line keeps proxies open
  size_t header_limit = 16 * 1024;
  // The web app's built files (index.html, assets/): served for GET of any path outside
  // the API (static_files.hpp). Empty: none.
  std::string web_root;
  ApiOptions api;
};

class HttpServer {
 public:
  // Binds, listens and starts the threads; an address in use is an Error.
  static Result<std::unique_ptr<HttpServer>> start(ApiDeps deps, ServerOptions options);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:8080" as bound
  // Stops accepting, closes connections, waits for the threads and for the intake's
  // pending callbacks. Idempotent.
  void stop();

  // The engine's verdict on an action submitted here (the service calls this).
  void on_outcome(const std::string& action_id, const ActionOutcome& outcome,
                  const std::vector<std::string>& events);
  // New feed entries are committed up to `head`: wakes the SSE streams.
  void on_feed(uint64_t head);

  Api& api();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridcase::http
