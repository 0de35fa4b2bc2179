#include "connectors/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "connectors/http/static_files.hpp"

namespace gridcase::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Closed by stop(): answers and timers that arrive later are dropped instead of being
// posted to an io_context that is going away.
struct Gate {
  std::mutex mu;
  bool open = true;
};

class Session;

// The server whose io thread this is (null elsewhere): an answer given on one of its io
// threads goes to the connection's strand directly, not through the queue.
thread_local const void* tls_io_server = nullptr;

std::string str(beast::string_view v) {
  return std::string(v.data(), v.size());
}

// Work handed to the io threads from other threads: one post carries everything queued
// meanwhile (not one post, and often one thread wake-up, per item). More than
// `split_above` items are shared with another io thread: the older half runs here, the
// rest is posted again. `Run` runs one item.
template <class T, class Run>
class PostedQueue {
 public:
  PostedQueue(net::io_context& ioc, size_t split_above) : ioc_(ioc), split_above_(split_above) {}

  void push(T item) {
    bool post = false;
    {
      std::lock_guard g(mu_);
      items_.push_back(std::move(item));
      post = !posted_;
      posted_ = true;
    }
    if (post) net::post(ioc_, [this] { run_some(); });
  }

  // What is still queued (stop(): run or dropped by the caller).
  std::vector<T> take_all() {
    std::lock_guard g(mu_);
    return std::exchange(items_, {});
  }

 private:
  void run_some() {
    std::vector<T> batch;
    bool more = false;
    {
      std::lock_guard g(mu_);
      size_t n = items_.size();
      size_t take = n <= split_above_ ? n : (n + 1) / 2;
      if (take == n) {
        batch.swap(items_);
        posted_ = false;
      } else {
        auto end = items_.begin() + static_cast<ptrdiff_t>(take);
        batch.assign(std::make_move_iterator(items_.begin()), std::make_move_iterator(end));
        items_.erase(items_.begin(), end);
        more = true;
      }
    }
    if (more) net::post(ioc_, [this] { run_some(); });
    for (auto& item : batch) Run{}(item);
  }

  net::io_context& ioc_;
  const size_t split_above_;
  std::mutex mu_;
  std::vector<T> items_;
  bool posted_ = false;
};

using QueuedReply = std::pair<std::shared_ptr<Session>, ApiResponse>;
struct AnswerReply {
  void operator()(QueuedReply& r) const;  // after Session
};
struct RunTask {
  void operator()(std::function<void()>& task) const { task(); }
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::unique_ptr<Api> api;  // outlives the io_context (declared first, destroyed last)
  Router router{api_routes()};
  std::unique_ptr<StaticFiles> files;  // null: no web app
  net::io_context ioc;
  // On a strand of its own: stop() closes it from a handler posted there, never while an
  // accept handler on another io thread starts the next accept (that race crashed in
  // epoll_reactor::start_op once in a while at the end of a test).
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::vector<std::thread> threads;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  std::mutex streams_mu;
  std::vector<std::weak_ptr<Session>> streams;
  // Every live connection, for the deadline sweep (see Session::arm).
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<Session>> sessions;
  // A connection waiting for an answer from the API (the intake, the engine) holds itself
  // (Session::hold_); the answer callback holds only a raw pointer and takes the hold under
  // the gate, so a callback that outlives the server (kept by the intake's queue, say)
  // never destroys a connection after its io_context; stop() releases the holds left on
  // its own thread while the io_context still exists.
  //
  // Answers from other threads (the intake's writer, the engine) wait here for the io
  // threads (pushed with the gate held and open).
  PostedQueue<QueuedReply, AnswerReply> replies{ioc, options.threads <= 1 ? SIZE_MAX : 8};
  // The intake's callbacks (Intake::run_callbacks_on), a task per appended group, run by
  // the io threads; stop() runs what is left on its own thread (the answers are dropped
  // then, but every callback runs: Api::drain() waits for them).
  Intake* intake = nullptr;
  PostedQueue<std::function<void()>, RunTask> tasks{ioc, options.threads <= 1 ? SIZE_MAX : 1};
  std::unique_ptr<net::steady_timer> sweep_timer;
  void sweep();
  bool stopped = false;
  std::mutex stop_mu;

  explicit Impl(ServerOptions o) : options(std::move(o)), ioc(std::max(1, options.threads)) {}
  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& srv)
      : socket_(std::move(socket)), srv_(srv), sse_wait_(socket_.get_executor()) {}

  void run() {
    {
      std::lock_guard g(srv_.sessions_mu);
      srv_.sessions.push_back(weak_from_this());
    }
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // From the sweep (any thread): has the pending operation run past its deadline?
  bool overdue(int64_t now_ns) const {
    int64_t d = deadline_ns_.load(std::memory_order_relaxed);
    return d != 0 && now_ns >= d;
  }
  // On the strand: cancel the pending operation if it is still overdue (it may have
  // finished, and another begun, since the sweep looked).
  void expire() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->overdue(now_ns())) return;
      self->deadline_ns_ = 0;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Whether this thread runs the connection's strand now.
  bool on_own_strand() {
    auto* strand = socket_.get_executor().target<net::strand<net::io_context::executor_type>>();
    return strand && strand->running_in_this_thread();
  }

  // From the server's reply queue (PostedQueue), on an io thread: the answer, on the strand.
  void answer(ApiResponse r) {
    net::dispatch(socket_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
      self->respond(std::move(r));
    });
  }

  // Kept while the API has the request (see HttpServer::Impl); moved out by the answer
  // under the gate's lock, or by stop() once the io threads are gone.
  std::shared_ptr<Session> hold_;

  // From on_feed(), any thread.
  void wake() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->woken_ = true;
      self->sse_wait_.cancel();
    });
  }

 private:
  // Every read and write runs under a deadline; past it the pending operation is
  // cancelled (not the socket closed), so a slow client can still be told 408. A deadline
  // is a number set and cleared on the strand; one server-wide sweep cancels what is
  // overdue. (A timer per operation cost two timerfd updates per request.)
  void arm() {
    timed_out_ = false;
    deadline_ns_.store(
        now_ns() +
            std::chrono::duration_cast<std::chrono::nanoseconds>(srv_.options.read_timeout).count(),
        std::memory_order_relaxed);
  }
  void disarm() { deadline_ns_.store(0, std::memory_order_relaxed); }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.options.header_limit));
    // The largest limit of any route until the route is known (then narrowed).
    parser_->body_limit(std::max(srv_.api->body_limit(nullptr), srv_.options.api.batch_body_limit));
    route_ = nullptr;
    close_after_ = false;
    arm();
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    disarm();
    if (ec) return fail_read(ec);
    auto& req = parser_->get();
    method_ = str(req.method_string());
    std::string target_text = str(req.target());
    std::string_view target = target_text;
    path_ = std::string(target.substr(0, target.find('?')));
    query_ = target.find('?') == std::string_view::npos
                 ? std::string()
                 : std::string(target.substr(target.find('?') + 1));
    match_ = srv_.router.match(method_, path_);
    route_ = match_.kind == Router::Match::Kind::Found ? match_.route : nullptr;
    size_t limit = srv_.api->body_limit(route_);
    if (auto len = parser_->content_length(); len && *len > limit) {
      return protocol_error(413, "payload_too_large",
                            "请求体超过上限 " + std::to_string(limit) + " 字节 / body too large");
    }
    parser_->body_limit(limit);
    // The body usually came with the header: parsed from the buffer here, it saves the
    // round through the scheduler that an async_read completing at once would cost.
    while (!parser_->is_done() && buffer_.size() > 0) {
      auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return fail_read(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return on_body({});
    arm();
    bhttp::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void fail_read(beast::error_code ec) {
    if (timed_out_) {
      // Idle keep-alive connections just close; a request cut short is told why.
      if (parser_ && (parser_->got_some() || buffer_.size() > 0)) {
        return protocol_error(408, "request_timeout", "请求超时 / request timeout");
      }
      return close();
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return protocol_error(413, "payload_too_large", "请求体过大 / body too large");
    }
    if (ec == bhttp::error::header_limit) {
      return protocol_error(431, "headers_too_large", "请求头过大 / headers too large");
    }
    if (ec == bhttp::error::partial_message) return close();
    protocol_error(400, "bad_request", "请求格式错误 / malformed request: " + ec.message());
  }

  // An error found by the protocol layer: the rest of the request is unread, so the
  // connection closes after the answer.
  void protocol_error(int status, const std::string& code, const std::string& message) {
    close_after_ = true;
    keep_alive_ = false;
    respond(error_response({status, code, message, {}}));
  }

  void on_body(beast::error_code ec) {
    disarm();
    if (ec) return fail_read(ec);
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    if (match_.kind == Router::Match::Kind::NotFound && srv_.files &&
        (method_ == "GET" || method_ == "HEAD")) {
      if (auto r = srv_.files->get(path_, str(req[bhttp::field::accept_encoding]))) {
        head_only_ = method_ == "HEAD";
        return respond(std::move(*r));
      }
    }
    if (match_.kind == Router::Match::Kind::NotFound) {
      return respond(
          error_response({404, "not_found", "没有这个接口 / no such route: " + path_, {}}));
    }
    if (match_.kind == Router::Match::Kind::MethodNotAllowed) {
      ApiResponse r = error_response(
          {405, "method_not_allowed", "此接口不支持 " + method_ + " / method not allowed", {}});
      r.headers.emplace_back("Allow", match_.allow);
      return respond(std::move(r));
    }
    ApiRequest ar;
    ar.method = method_;
    ar.path = path_;
    ar.query = parse_form(query_);
    ar.params = match_.params;
    ar.authorization = str(req[bhttp::field::authorization]);
    ar.content_type = str(req[bhttp::field::content_type]);
    ar.accept = str(req[bhttp::field::accept]);
    ar.last_event_id = str(req["Last-Event-ID"]);
    ar.body = std::move(req.body());
    hold_ = shared_from_this();  // released by the answer (or by stop())
    // Shared by the copies of the callback; whichever way it ends (answered, or dropped
    // unanswered), the connection lets go of itself.
    struct Waiter {
      std::weak_ptr<Gate> gate;
      HttpServer::Impl* srv = nullptr;
      Session* session = nullptr;  // alive while its hold_ is set
      bool answered = false;
      ~Waiter() {
        if (answered) return;
        auto g = gate.lock();
        if (!g) return;
        std::shared_ptr<Session> held;  // released after the gate's lock
        std::lock_guard lock(g->mu);
        if (g->open) held = std::move(session->hold_);
      }
    };
    auto waiter = std::make_shared<Waiter>();  // in place: a temporary would release on its end
    waiter->gate = srv_.gate;
    waiter->srv = &srv_;
    waiter->session = this;
    Reply reply = [waiter](ApiResponse r) {
      if (waiter->answered) return;
      waiter->answered = true;
      auto g = waiter->gate.lock();
      if (!g) return;
      std::shared_ptr<Session> self;
      {
        std::lock_guard lock(g->mu);
        if (!g->open) return;
        self = std::move(waiter->session->hold_);
        if (!self) return;
        if (!self->on_own_strand() && tls_io_server != waiter->srv) {
          // From another thread: queued for the io threads.
          waiter->srv->replies.push({std::move(self), std::move(r)});
          return;
        }
      }
      if (!self->on_own_strand()) {
        // On an io thread (the intake's callbacks, a timer): onto the connection's strand,
        // at once when it is idle.
        return self->answer(std::move(r));
      }
      // Answered on the connection's strand (validation errors, reads): no post. Inside
      // handle() the answer waits until it returns (the handler may still hold a lock the
      // client's next request needs).
      if (self->in_handle_) {
        self->early_.emplace(std::move(r));
      } else {
        self->respond(std::move(r));
      }
    };
    in_handle_ = true;
    srv_.api->handle(*route_, std::move(ar), std::move(reply));
    in_handle_ = false;
    if (early_) {
      ApiResponse r = std::move(*early_);
      early_.reset();
      respond(std::move(r));
    }
  }

  void respond(ApiResponse r) {
    srv_.api->counters().count(method_, route_ ? std::string_view(route_->path) : "unmatched",
                               r.status);
    if (r.stream) return start_stream(std::move(r));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), 11);
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !close_after_);
    res->prepare_payload();
    if (head_only_) {  // HEAD of a web app file: its headers, no body
      head_only_ = false;
      size_t n = res->body().size();
      res->body().clear();
      res->content_length(n);
    }
    arm();
    bhttp::async_write(socket_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->disarm();
                         if (ec) return self->close();
                         if (!res->keep_alive()) {
                           return self->close_after_ ? self->linger_close() : self->close();
                         }
                         self->read_header();
                       });
  }

  // ---- Server-Sent Events ----

  void start_stream(ApiResponse r) {
    caller_ = r.stream->caller;
    after_ = r.stream->after;
    {
      std::lock_guard g(srv_.streams_mu);
      srv_.streams.push_back(weak_from_this());
    }
    sse_res_ = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    sse_res_->set(bhttp::field::server, "gridcase");
    sse_res_->set(bhttp::field::content_type, r.content_type);
    sse_res_->set(bhttp::field::cache_control, "no-cache");
    sse_res_->set("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
    sse_res_->chunked(true);
    sse_sr_ = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*sse_res_);
    arm();
    bhttp::async_write_header(
        socket_, *sse_sr_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->disarm();
          if (ec) return self->close();
          // The retry hint first, so clients reconnect quickly.
          self->write_chunk("retry: 3000\n\n", [self] { self->stream_next(); });
        });
  }

  void stream_next() {
    woken_ = false;
    uint64_t scanned = after_;
    auto batch = srv_.api->stream_batch(caller_, after_, 200, &scanned);
    if (!batch.ok()) {
      return write_chunk("event: error\ndata: " + batch.error().message + "\n\n",
                         [self = shared_from_this()] { self->close(); });
    }
    bool moved = scanned != after_;
    after_ = scanned;
    if (batch->empty()) {
      if (moved) {
        // Everything scanned was outside the caller's area: look further at once.
        net::post(socket_.get_executor(), [self = shared_from_this()] { self->stream_next(); });
      } else {
        wait();
      }
      return;
    }
    std::string data;
    for (const auto& e : batch.value()) {
      data += "id: " + std::to_string(e.id) + "\nevent: case_event\ndata: " + e.json + "\n\n";
    }
    write_chunk(std::move(data), [self = shared_from_this()] { self->stream_next(); });
  }

  void wait() {
    if (woken_) {
      net::post(socket_.get_executor(), [self = shared_from_this()] { self->stream_next(); });
      return;
    }
    sse_wait_.expires_after(srv_.options.sse_heartbeat);
    sse_wait_.async_wait([self = shared_from_this()](beast::error_code) {
      if (!self->socket_.is_open()) return;
      if (self->woken_) return self->stream_next();
      self->write_chunk(": ping\n\n", [self] { self->wait(); });
    });
  }

  template <typename Next>
  void write_chunk(std::string data, Next next) {
    auto buf = std::make_shared<std::string>(std::move(data));
    arm();
    net::async_write(socket_, bhttp::make_chunk(net::buffer(*buf)),
                     [self = shared_from_this(), buf, next](beast::error_code ec, std::size_t) {
                       self->disarm();
                       if (ec) return self->close();
                       next();
                     });
  }

  // After an error answer the client may still be sending the rest of its request; closing
  // with unread input would reset the connection and could destroy the answer in flight.
  // So: stop sending, read and drop what still comes (bounded by the read timeout), close.
  void linger_close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    arm();
    drain();
  }
  void drain() {
    socket_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->disarm();
                                return self->close();
                              }
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
    disarm();
    sse_wait_.cancel();
  }

  tcp::socket socket_;
  HttpServer::Impl& srv_;
  net::steady_timer sse_wait_;
  std::atomic<int64_t> deadline_ns_{0};  // steady clock ns; 0 = no operation pending
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::array<char, 4096> scratch_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Router::Match match_;
  const Route* route_ = nullptr;
  std::string method_, path_, query_;
  bool keep_alive_ = false;
  bool close_after_ = false;
  bool head_only_ = false;
  bool in_handle_ = false;            // in Api::handle(), on the strand
  std::optional<ApiResponse> early_;  // answered inside handle(): sent when it returns
  // SSE
  Caller caller_;
  uint64_t after_ = 0;
  bool woken_ = false;
  std::shared_ptr<bhttp::response<bhttp::empty_body>> sse_res_;
  std::shared_ptr<bhttp::response_serializer<bhttp::empty_body>> sse_sr_;
};

}  // namespace

void AnswerReply::operator()(QueuedReply& r) const {
  r.first->answer(std::move(r.second));
}

void HttpServer::Impl::sweep() {
  // A quarter of the timeout: a slow client is cut off between 1 and 1.25 timeouts.
  auto every = std::clamp(options.read_timeout / 4, std::chrono::milliseconds(5),
                          std::chrono::milliseconds(1000));
  sweep_timer->expires_after(every);
  sweep_timer->async_wait([this](beast::error_code ec) {
    if (ec) return;
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    std::vector<std::shared_ptr<Session>> overdue;
    {
      std::lock_guard g(sessions_mu);
      auto& v = sessions;
      v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }),
              v.end());
      for (const auto& w : v) {
        if (auto s = w.lock(); s && s->overdue(now)) overdue.push_back(std::move(s));
      }
    }
    for (auto& s : overdue) s->expire();
    sweep();
  });
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), *this)->run();
    }
    accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(ApiDeps deps, ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* raw = impl.get();
  std::weak_ptr<Gate> gate = impl->gate;
  deps.after = [raw, gate](std::chrono::milliseconds delay, std::function<void()> f) {
    auto g = gate.lock();
    if (!g) return;
    std::lock_guard lock(g->mu);
    if (!g->open) return;
    auto timer = std::make_shared<net::steady_timer>(raw->ioc, delay);
    timer->async_wait([timer, f = std::move(f)](beast::error_code ec) {
      if (!ec) f();
    });
  };
  impl->intake = deps.intake;
  impl->api = std::make_unique<Api>(std::move(deps), impl->options.api);
  if (!impl->options.web_root.empty()) {
    impl->files = std::make_unique<StaticFiles>(impl->options.web_root);
  }

  const std::string& listen = impl->options.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return err("http: listen must be HOST:PORT, got '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return err("http: bad port in '" + listen + "'");
  beast::error_code ec;
  auto addr = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return err("http: bad address '" + host + "': " + ec.message());
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return err("http: cannot listen on " + listen + ": " + ec.message());
  if (impl->intake) {
    impl->intake->run_callbacks_on([raw, gate](std::function<void()> task) {
      if (auto g = gate.lock()) {
        std::lock_guard lock(g->mu);
        if (g->open) {
          raw->tasks.push(std::move(task));
          return;
        }
      }
      task();  // stopping: run here (answers are dropped, callbacks still run)
    });
  }
  impl->accept();
  impl->sweep_timer = std::make_unique<net::steady_timer>(impl->ioc);
  impl->sweep();
  for (int i = 0; i < std::max(1, impl->options.threads); ++i) {
    impl->threads.emplace_back([raw] {
      tls_io_server = raw;
      raw->ioc.run();
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::string HttpServer::address() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void HttpServer::stop() {
  {
    std::lock_guard g(impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  {
    std::lock_guard g(impl_->gate->mu);
    impl_->gate->open = false;
  }
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  {
    // Connections still waiting for an answer close here, before the io_context goes. The
    // gate is closed: no answer touches a hold_ or the queue any more.
    std::vector<std::shared_ptr<Session>> held;
    {
      std::lock_guard g(impl_->sessions_mu);
      for (const auto& w : impl_->sessions) {
        if (auto s = w.lock(); s && s->hold_) held.push_back(std::move(s->hold_));
      }
    }
    // The intake's callbacks still queued run here: every callback runs once (their
    // answers are dropped behind the closed gate).
    if (impl_->intake) impl_->intake->run_callbacks_on(nullptr);
    for (auto& t : impl_->tasks.take_all()) t();
    // Answers still queued are dropped here, on this thread, while the io_context exists.
    auto dropped = impl_->replies.take_all();
  }
  impl_->api->drain();
}

void HttpServer::on_outcome(const std::string& action_id, const ActionOutcome& outcome,
                            const std::vector<std::string>& events) {
  impl_->api->on_outcome(action_id, outcome, events);
}

void HttpServer::on_feed(uint64_t /*head*/) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard g(impl_->streams_mu);
    auto& v = impl_->streams;
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
    for (const auto& w : v) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  std::lock_guard g(impl_->gate->mu);
  if (!impl_->gate->open) return;
  for (auto& s : live) s->wake();
}

Api& HttpServer::api() {
  return *impl_->api;
}

}  // namespace gridcase::http
