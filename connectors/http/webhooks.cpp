#include "connectors/http/webhooks.hpp"

#include <utility>  // before Asio: 1.74 needs it for std::exchange in C++20

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace gridcase::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

std::optional<Url> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(scheme.size());
  Url u;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    u.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) return std::nullopt;
  u.host = authority;
  return u;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 15]);
  }
  return out;
}

std::string hook_key(const WebhookConfig& h) {
  return h.unit + " " + h.url;
}

// One attempt's result: a status (0: none, the request did not get an answer) and why.
struct Attempt {
  int status = 0;
  std::string error;
  bool ok() const { return status >= 200 && status < 300; }
  bool retryable() const { return status == 0 || status == 408 || status == 429 || status >= 500; }
};

Attempt post(const Url& u, const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers,
             std::chrono::milliseconds timeout) {
  Attempt a;
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, u.target, 11);
  req.set(bhttp::field::host, u.host);
  req.set(bhttp::field::user_agent, "gridcase-webhook");
  req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024);
  auto fail = [&](const char* what, beast::error_code ec) {
    a.error = std::string(what) + ": " + ec.message();
  };
  // One deadline for the whole attempt: connect, write and read (tcp_stream's timer).
  stream.expires_after(timeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) return fail("resolve", ec);
    stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return fail("connect", ec);
      bhttp::async_write(stream, req, [&](beast::error_code ec, size_t) {
        if (ec) return fail("write", ec);
        bhttp::async_read(stream, buf, parser, [&](beast::error_code ec, size_t) {
          if (ec) return fail("read", ec);
          a.status = static_cast<int>(parser.get().result_int());
          if (!a.ok()) {
            std::string b = parser.get().body().substr(0, 200);
            a.error = "HTTP " + std::to_string(a.status) + (b.empty() ? "" : ": " + b);
          }
        });
      });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return a;
}

}  // namespace

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
  std::string data;
  data.reserve(timestamp.size() + 1 + body.size());
  data.append(timestamp);
  data.push_back('.');
  data.append(body);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return hex(md, len);
}

Result<bool> check_webhooks(const std::vector<WebhookConfig>& hooks, const Org& org) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    const auto& h = hooks[i];
    std::string where = "webhooks[" + std::to_string(i) + "]";
    if (org.find_unit(h.unit) == kNoUnit) {
      return err(where + ".unit: 组织中没有单位 '" + h.unit + "' / unknown unit");
    }
    if (!parse_url(h.url)) {
      return err(where + ".url: 需要 http://主机[:端口]/路径, 得到 '" + h.url +
                 "' / expected http://host[:port]/path");
    }
    if (h.secret.empty()) return err(where + ".secret: 不能为空 / must not be empty");
    if (h.max_attempts < 1) return err(where + ".max_attempts: 至少 1 / at least 1");
  }
  return true;
}

struct WebhookDispatcher::Impl {
  WebhookOptions options;
  const Org* org = nullptr;
  std::shared_ptr<CaseViews> views;
  MessageSink* dead_letters = nullptr;
  std::mutex dl_mu;

  std::mutex mu;
  std::condition_variable cv;
  uint64_t wakes = 0;
  bool stop = false;
  std::map<std::string, uint64_t> cursors;  // hook key -> last feed id done with
  Stats stats;
  std::vector<std::thread> threads;

  bool stopping() {
    std::lock_guard g(mu);
    return stop;
  }

  // Waits for `d`, or less if stopping. False when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, d, [this] { return stop; });
  }

  // Writes every cursor, atomically (temp file, then rename). Called under mu.
  Result<bool> save_cursors() {
    json j = json::object();
    for (const auto& [k, v] : cursors) j[k] = v;
    std::string tmp = options.cursor_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << j.dump(2) << "\n";
      out.flush();
      if (!out) return err(options.cursor_file + ": 无法写入 / cannot write");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, options.cursor_file, ec);
    if (ec) return err(options.cursor_file + ": " + ec.message());
    return true;
  }

  void done_with(const WebhookConfig& h, uint64_t id) {
    std::lock_guard g(mu);
    cursors[hook_key(h)] = id;
    // A failed write keeps the position in memory; at worst a crash re-delivers.
    (void)save_cursors();
    cv.notify_all();
  }

  // Whether `e` is a notification to a unit in the subtree of `root` (the hook's unit).
  bool matches(UnitIdx root, const FeedEntry& e) const {
    if (e.type != "notified") return false;
    auto j = json::parse(e.json, nullptr, false);
    auto t = j.is_object() ? j.find("target_unit") : j.end();
    if (t == j.end() || !t->is_string()) return false;
    UnitIdx target = org->find_unit(t->get_ref<const std::string&>());
    return target != kNoUnit && org->in_subtree(target, root);
  }

  // Delivers one event with retries, or dead-letters it after the last try; either way the
  // hook's cursor moves past it. When stopping, `stopped` is set and the cursor stays.
  void deliver(const WebhookConfig& h, const Url& url, const FeedEntry& e, bool& stopped) {
    std::chrono::milliseconds wait = h.retry_base;
    Attempt a;
    int attempt = 0;
    for (attempt = 1; attempt <= h.max_attempts; ++attempt) {
      auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
      a = post(url, e.json,
               {{"X-Gridcase-Event", "notified"},
                {"X-Gridcase-Delivery", std::to_string(e.id)},
                {"X-Gridcase-Timestamp", ts},
                {"X-Gridcase-Signature", "sha256=" + webhook_signature(h.secret, ts, e.json)}},
               h.timeout);
      if (a.ok()) {
        std::lock_guard g(mu);
        ++stats.delivered;
        break;
      }
      {
        std::lock_guard g(mu);
        ++stats.failed_attempts;
      }
      if (!a.retryable() || attempt == h.max_attempts) break;
      if (!pause(wait)) {
        stopped = true;
        return;
      }
      wait = std::min(wait * 2, h.retry_max);
    }
    if (!a.ok()) {
      json dl = {{"reason", "webhook_failed"},
                 {"error", a.error},
                 {"topic", options.case_events_topic},
                 {"feed_id", e.id},
                 {"webhook", {{"unit", h.unit}, {"url", h.url}}},
                 {"attempts", std::min(attempt, h.max_attempts)},
                 {"payload", e.json}};
      // Kept until the dead letter is durable: a broker outage must not lose it.
      for (std::chrono::milliseconds w = h.retry_base;; w = std::min(w * 2, h.retry_max)) {
        Result<bool> r = true;
        {
          std::lock_guard g(dl_mu);
          r = dead_letters->publish({{options.dead_letter_topic, e.case_id, dl.dump()}});
        }
        if (r.ok()) break;
        if (!pause(w)) {
          stopped = true;
          return;
        }
      }
      std::lock_guard g(mu);
      ++stats.dead;
    }
    done_with(h, e.id);
  }

  void run(const WebhookConfig& h) {
    Url url = *parse_url(h.url);
    const UnitIdx root = org->find_unit(h.unit);  // checked by check_webhooks()
    uint64_t seen_wakes = 0;
    for (;;) {
      uint64_t after;
      {
        std::lock_guard g(mu);
        if (stop) return;
        after = cursors[hook_key(h)];
        seen_wakes = wakes;
      }
      auto page = views->feed(after, 200);
      if (!page.ok() || page->empty()) {
        std::unique_lock lock(mu);
        // The wake count, not a flag: a wake between the read and here is not missed. The
        // timeout only bounds the wait if a wake-up is lost (it is not the signal).
        cv.wait_for(lock, std::chrono::seconds(1), [&] { return stop || wakes != seen_wakes; });
        continue;
      }
      std::vector<bool> hit;  // each entry parsed once
      hit.reserve(page->size());
      for (const auto& e : *page) hit.push_back(matches(root, e));
      {
        std::lock_guard g(mu);
        stats.pending += static_cast<uint64_t>(std::count(hit.begin(), hit.end(), true));
      }
      for (size_t i = 0; i < page->size(); ++i) {
        const FeedEntry& e = (*page)[i];
        if (!hit[i]) {
          if (i + 1 == page->size()) done_with(h, e.id);
          continue;
        }
        bool stopped = false;
        deliver(h, url, e, stopped);
        std::lock_guard g(mu);
        if (stopped) {
          stats.pending = 0;
          return;
        }
        --stats.pending;
      }
    }
  }
};

WebhookDispatcher::WebhookDispatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebhookDispatcher::~WebhookDispatcher() {
  {
    std::lock_guard g(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->threads) t.join();
}

Result<std::unique_ptr<WebhookDispatcher>> WebhookDispatcher::start(
    WebhookOptions options, const Org& org, std::shared_ptr<CaseViews> views,
    MessageSink& dead_letters) {
  if (auto r = check_webhooks(options.hooks, org); !r.ok()) return r.error();
  if (!views) return err("webhooks: 需要案件视图 / need the case views (the store's feed)");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->org = &org;
  impl->views = std::move(views);
  impl->dead_letters = &dead_letters;
  if (std::filesystem::exists(impl->options.cursor_file)) {
    std::ifstream in(impl->options.cursor_file);
    auto j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return err(impl->options.cursor_file + ": 不是 JSON 对象 / not a JSON object");
    }
    for (const auto& [k, v] : j.items()) {
      if (v.is_number_unsigned()) impl->cursors[k] = v.get<uint64_t>();
    }
  }
  uint64_t head = impl->views->feed_head();
  bool added = false;
  for (const auto& h : impl->options.hooks) {
    if (impl->cursors.emplace(hook_key(h), head).second) added = true;
  }
  if (added) {
    if (auto r = impl->save_cursors(); !r.ok()) return r.error();
  }
  Impl* raw = impl.get();
  for (const auto& h : raw->options.hooks) {
    raw->threads.emplace_back([raw, &h] { raw->run(h); });
  }
  return std::unique_ptr<WebhookDispatcher>(new WebhookDispatcher(std::move(impl)));
}

void WebhookDispatcher::wake() {
  {
    std::lock_guard g(impl_->mu);
    ++impl_->wakes;
  }
  impl_->cv.notify_all();
}

bool WebhookDispatcher::wait_done(uint64_t feed_id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] {
    for (const auto& h : impl_->options.hooks) {
      if (impl_->cursors[hook_key(h)] < feed_id) return false;
    }
    return true;
  });
}

WebhookDispatcher::Stats WebhookDispatcher::stats() {
  std::lock_guard g(impl_->mu);
  return impl_->stats;
}

}  // namespace gridcase::http
