// Webhooks against a local receiver over real HTTP: the right notifications only, signed,
// retried until the receiver recovers, dead-lettered after the last try, resumed from the
// cursor file after a restart.
#include "connectors/http/webhooks.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/http/support.hpp"

namespace gridcase::http {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
using tcp = net::ip::tcp;
using testing::FakeViews;

struct Received {
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
};

// An HTTP receiver on 127.0.0.1 answering each request with the next scripted status (the
// last one repeats), one request per connection.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses) : statuses_(std::move(statuses)), acceptor_(ioc_) {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    // Unblock accept() with a connection of our own.
    try {
      net::io_context ioc;
      tcp::socket s(ioc);
      s.connect(acceptor_.local_endpoint());
    } catch (...) {
    }
    thread_.join();
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  std::vector<Received> wait_for(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return got_.size() >= n; });
    return got_;
  }
  std::vector<Received> received() {
    std::lock_guard g(mu_);
    return got_;
  }

 private:
  void serve() {
    for (;;) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      {
        std::lock_guard g(mu_);
        if (stop_) return;
      }
      if (ec) continue;
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(s, buf, req, ec);
      if (ec) continue;
      Received r;
      r.target = std::string(req.target());
      for (const auto& f : req) r.headers[std::string(f.name_string())] = std::string(f.value());
      r.body = req.body();
      int status;
      {
        // Recorded before the answer: once the sender has its answer, the test sees it.
        std::lock_guard g(mu_);
        status = statuses_.at(std::min(got_.size(), statuses_.size() - 1));
        got_.push_back(std::move(r));
      }
      cv_.notify_all();
      bhttp::response<bhttp::string_body> res(static_cast<bhttp::status>(status), 11);
      res.body() = status < 300 ? "ok" : "busy";
      res.prepare_payload();
      bhttp::write(s, res, ec);
    }
  }

  std::vector<int> statuses_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
  bool stop_ = false;
};

class RecordingSink final : public MessageSink {
 public:
  Result<bool> publish(const std::vector<OutMessage>& messages) override {
    std::lock_guard g(mu_);
    for (const auto& m : messages) messages_.push_back(m);
    return true;
  }
  std::vector<OutMessage> messages() {
    std::lock_guard g(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::vector<OutMessage> messages_;
};

std::string notified(const std::string& case_id, int seq, const std::string& target) {
  return json{{"case_id", case_id},           {"seq", seq},   {"type", "notified"},
              {"at", "2026-06-12T08:30:00Z"}, {"unit", "g1"}, {"target_unit", target},
              {"target_level", "village"}}
      .dump();
}

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gridcase-webhooks-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    views_ = std::make_shared<FakeViews>(org_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  WebhookOptions options(const std::string& url, const std::string& unit = "v1",
                         int max_attempts = 5) {
    WebhookOptions o;
    WebhookConfig h;
    h.unit = unit;
    h.url = url;
    h.secret = "s3cret";
    h.max_attempts = max_attempts;
    h.retry_base = std::chrono::milliseconds(1);
    h.retry_max = std::chrono::milliseconds(4);
    o.hooks.push_back(h);
    o.cursor_file = (dir_ / "webhooks.json").string();
    return o;
  }
  std::unique_ptr<WebhookDispatcher> start(WebhookOptions o) {
    auto d = WebhookDispatcher::start(std::move(o), org_, views_, sink_);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return std::move(d).value();
  }
  uint64_t add(const std::string& case_id, const std::string& type, const std::string& json) {
    return views_->add_feed(case_id, {"g1"}, json, type);
  }

  Org org_ = testing::load_test_org();
  std::shared_ptr<FakeViews> views_;
  RecordingSink sink_;
  fs::path dir_;
  static constexpr std::chrono::seconds kWait{60};  // a broken dispatcher fails, not hangs
};

TEST(WebhookSignature, IsHmacSha256OfTimestampDotBody) {
  // python3: hmac.new(b'key', b'1700000000.{"a": 1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(webhook_signature("key", "1700000000", R"({"a": 1})"),
            "17e36a190ee125a4782d21867ffdf5712238dc71b452ba98254537bfdb4f3a77");
}

TEST(WebhookConfigCheck, NamesTheBadHookAndField) {
  Org org = testing::load_test_org();
  WebhookConfig ok{"v1", "http://127.0.0.1:9/h", "k"};
  EXPECT_TRUE(check_webhooks({ok}, org).ok());
  auto bad_unit = ok;
  bad_unit.unit = "nowhere";
  auto r = check_webhooks({ok, bad_unit}, org);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("webhooks[1].unit"), std::string::npos) << r.error().message;
  auto bad_url = ok;
  bad_url.url = "ftp://x/";
  r = check_webhooks({bad_url}, org);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("webhooks[0].url"), std::string::npos);
  auto no_secret = ok;
  no_secret.secret = "";
  EXPECT_FALSE(check_webhooks({no_secret}, org).ok());
}

// The receiver fails twice, then recovers: the notification for the hook's subtree arrives
// three times with the same delivery id and a valid signature; nothing else is sent.
TEST_F(WebhooksTest, RetriesUntilTheReceiverRecovers) {
  Receiver rx({503, 500, 200});
  auto d = start(options(rx.url()));
  std::string mine = notified("c-1", 4, "v1");
  add("c-0", "transition", R"({"case_id": "c-0", "seq": 2, "type": "transition"})");
  add("c-9", "notified", notified("c-9", 3, "v3"));  // township t2's village: not v1's
  uint64_t last = add("c-1", "notified", mine);
  d->wake();
  auto got = rx.wait_for(3);
  ASSERT_TRUE(d->wait_done(last, kWait));
  got = rx.received();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) {
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.body, mine);
    EXPECT_EQ(r.headers.at("X-Gridcase-Event"), "notified");
    EXPECT_EQ(r.headers.at("X-Gridcase-Delivery"), "3");
    EXPECT_EQ(r.headers.at("Content-Type"), "application/json");
    EXPECT_EQ(
        r.headers.at("X-Gridcase-Signature"),
        "sha256=" + webhook_signature("s3cret", r.headers.at("X-Gridcase-Timestamp"), r.body));
  }
  auto st = d->stats();
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(st.failed_attempts, 2u);
  EXPECT_EQ(st.dead, 0u);
  EXPECT_TRUE(sink_.messages().empty());
}

// A receiver that never recovers: after max_attempts the event is a dead letter with the
// reason, the last error and the event; a 4xx other than 408/429 is final at once. The
// hook then goes on with the next notification.
TEST_F(WebhooksTest, DeadLettersAfterTheLastTry) {
  Receiver down({503});
  Receiver gone({404});
  auto o = options(down.url(), "v1", 3);
  auto o2 = options(gone.url(), "t1", 3);
  o.hooks.push_back(o2.hooks[0]);
  auto d = start(o);
  std::string ev = notified("c-1", 4, "g2");
  uint64_t last = add("c-1", "notified", ev);
  d->wake();
  ASSERT_TRUE(d->wait_done(last, kWait));
  EXPECT_EQ(down.received().size(), 3u);
  EXPECT_EQ(gone.received().size(), 1u);
  auto dl = sink_.messages();
  ASSERT_EQ(dl.size(), 2u);
  std::map<std::string, json> by_url;
  for (const auto& m : dl) {
    EXPECT_EQ(m.topic, "gridcase.dead-letter");
    EXPECT_EQ(m.key, "c-1");
    auto j = json::parse(m.value);
    by_url[j["webhook"]["url"]] = j;
  }
  auto a = by_url.at(down.url());
  EXPECT_EQ(a["reason"], "webhook_failed");
  EXPECT_EQ(a["attempts"], 3);
  EXPECT_EQ(a["feed_id"], last);
  EXPECT_EQ(a["payload"], ev);
  EXPECT_NE(a["error"].get<std::string>().find("503"), std::string::npos) << a["error"];
  auto b = by_url.at(gone.url());
  EXPECT_EQ(b["attempts"], 1);
  EXPECT_NE(b["error"].get<std::string>().find("404"), std::string::npos);
  EXPECT_EQ(d->stats().dead, 2u);
}

// An unreachable receiver (nothing listens) counts as retryable, like a 503.
TEST_F(WebhooksTest, AnUnreachableReceiverIsRetriedThenDeadLettered) {
  std::string url;
  {
    Receiver gone({200});
    url = gone.url();
  }  // closed: connections are refused now
  auto d = start(options(url, "v1", 2));
  uint64_t last = add("c-1", "notified", notified("c-1", 4, "v1"));
  d->wake();
  ASSERT_TRUE(d->wait_done(last, kWait));
  auto dl = sink_.messages();
  ASSERT_EQ(dl.size(), 1u);
  auto j = json::parse(dl[0].value);
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_NE(j["error"].get<std::string>().find("connect"), std::string::npos) << j["error"];
}

// The cursor file: a restarted dispatcher sends only what came after; a hook added later
// starts at the feed's head (it is not sent the past).
TEST_F(WebhooksTest, ResumesFromItsCursorAfterARestart) {
  Receiver rx({200});
  uint64_t first = add("c-1", "notified", notified("c-1", 4, "v1"));
  {
    auto d = start(options(rx.url()));  // new hook: starts after `first`
    uint64_t second = add("c-2", "notified", notified("c-2", 4, "g1"));
    d->wake();
    ASSERT_TRUE(d->wait_done(second, kWait));
  }
  ASSERT_EQ(rx.received().size(), 1u);
  EXPECT_EQ(rx.received()[0].headers.at("X-Gridcase-Delivery"), std::to_string(first + 1));
  uint64_t third = add("c-3", "notified", notified("c-3", 4, "v1"));
  auto d = start(options(rx.url()));
  d->wake();
  ASSERT_TRUE(d->wait_done(third, kWait));
  auto got = rx.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].headers.at("X-Gridcase-Delivery"), std::to_string(third));
  auto cursors = json::parse(std::ifstream(dir_ / "webhooks.json"));
  EXPECT_EQ(cursors["v1 " + rx.url()], third);
}

}  // namespace
}  // namespace gridcase::http
