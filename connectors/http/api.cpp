#include "connectors/http/api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "connectors/http/openapi_doc.hpp"
#include "connectors/json_events.hpp"
#include "engine/engine.hpp"
#include "whatif/whatif.hpp"

namespace gridcase::http {

using nlohmann::json;

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// {"case_id": ID, "report_id": ID}: report ids are plain ASCII (valid_id), written without
// the JSON serializer; anything else goes through it.
std::string accepted_body(const std::string& id) {
  bool plain = std::all_of(id.begin(), id.end(),
                           [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) return dump(json{{"case_id", id}, {"report_id", id}});
  std::string out;
  out.reserve(2 * id.size() + 30);
  out += R"({"case_id":")";
  out += id;
  out += R"(","report_id":")";
  out += id;
  out += R"("})";
  return out;
}

ApiResponse json_response(int status, const json& body) {
  ApiResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

ApiError unavailable_views() {
  return {503,
          "views_unavailable",
          "案件视图尚未启用，暂不能查询 / case views are not available in this build",
          {}};
}

std::optional<std::string> query_value(const ApiRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string param(const ApiRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.params) {
    if (k == name) return v;
  }
  return "";
}

// "application/json; charset=utf-8" -> "application/json"
std::string media_type(std::string_view ct) {
  std::string out(ct.substr(0, ct.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool reserved_action(std::string_view a) {
  return a == "opened" || a == "report" || a == "sla_warning" || a == "sla_expired";
}

bool valid_action_name(std::string_view a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return a[0] >= 'a' && a[0] <= 'z';
}

json summary_json(const CaseSummary& c, Timestamp now) {
  json j = {{"case_id", c.case_id},
            {"workflow", c.workflow},
            {"state", c.state},
            {"level", c.level},
            {"unit", c.unit},
            {"grid", c.grid},
            {"category", c.category},
            {"title", c.title},
            {"severity", c.severity},
            {"closed", c.closed},
            {"opened_at", format_timestamp(c.opened_at)},
            {"updated_at", format_timestamp(c.updated_at)},
            {"sla_due", c.sla_due ? json(format_timestamp(*c.sla_due)) : json(nullptr)},
            {"overdue", !c.closed && c.sla_due && *c.sla_due < now},
            {"seq", c.seq},
            {"co_handlers", c.co_handlers}};
  return j;
}

// The SMS reply is short: the zh-CN part of a message ("中文 / English" -> "中文").
std::string zh_only(const std::string& m) {
  size_t p = m.find(" / ");
  return p == std::string::npos ? m : m.substr(0, p);
}

std::string today_compact(Timestamp t) {
  std::string s = format_timestamp(t);  // 2026-06-12T08:30:00Z
  std::string out;
  for (size_t i = 0; i < s.size() && i < 10; ++i) {
    if (s[i] != '-') out.push_back(s[i]);
  }
  return out;
}

}  // namespace

// ---- access -------------------------------------------------------------------------------

bool is_supervisor_role(std::string_view role) {
  return role == "grid_instructor" || role == "village_officer" || role == "community_officer" ||
         role == "township_officer" || role == "county_officer";
}

std::optional<ApiError> check_capability(const Caller& caller, Capability cap) {
  auto deny = [](std::string why) { return ApiError{403, "forbidden", std::move(why), {}}; };
  if (caller.gateway) {
    if (cap == Capability::Sms) return std::nullopt;
    return deny("短信网关令牌只能用于 /v1/sms / the SMS gateway token is for /v1/sms only");
  }
  if (caller.admin) return std::nullopt;
  const std::string& role = caller.role;
  if (cap == Capability::Administer) {
    return deny("只有系统管理员可以管理流程 / only administrators may manage workflows");
  }
  if (cap == Capability::Sms) {
    return deny("只有短信网关令牌可以调用 /v1/sms / only the SMS gateway's token may post SMS");
  }
  if (role == "grid_worker" || role == "grid_head") {
    // Grid staff report, and handle what their own grid holds: the shipped workflows give
    // grid-level cases to the grid (`by: assignee`), so they must see and act on those.
    if (cap == Capability::Report || cap == Capability::ReadCase || cap == Capability::Act) {
      return std::nullopt;
    }
    return deny(
        "网格员只能上报和处理本网格的案件，无权进行此查询 / grid staff may not use this "
        "endpoint");
  }
  if (is_supervisor_role(role)) return std::nullopt;
  return deny("角色“" + role + "”没有访问权限 / this role has no access");
}

// ---- idempotent reports ------------------------------------------------------------------

// Report ids accepted (or being accepted) by this process: a retry gets the same answer and
// writes nothing; a retry racing the first attempt waits for its outcome.
class Api::ReportLedger {
 public:
  explicit ReportLedger(size_t capacity) : capacity_(capacity) {}
  enum class Begin { New, Done, Waiting, Conflict };
  struct Entry {
    const std::string* id = nullptr;  // the map's key
    std::string grid;
    bool done = false;
    std::vector<std::function<void(bool)>> waiters;
  };

  // New: `*entry` is the id's entry, to hand to finish() (entries live in a node-based map:
  // the pointer stays valid until finish()). `make_waiter` is called only for Waiting, so
  // a new report builds no waiter.
  template <typename MakeWaiter>
  Begin begin(const std::string& id, const std::string& grid, MakeWaiter&& make_waiter,
              Entry** entry) {
    std::lock_guard g(mu_);
    auto [it, fresh] = map_.try_emplace(id);
    if (fresh) {
      it->second.id = &it->first;
      it->second.grid = grid;
      *entry = &it->second;
      return Begin::New;
    }
    if (it->second.grid != grid) return Begin::Conflict;
    if (it->second.done) return Begin::Done;
    it->second.waiters.push_back(make_waiter());
    return Begin::Waiting;
  }

  // ok: remembered for retries; else forgotten (a retry tries again). `entry` is what
  // begin() gave.
  void finish(Entry* entry, bool ok) {
    std::vector<std::function<void(bool)>> waiters;
    {
      std::lock_guard g(mu_);
      waiters = std::move(entry->waiters);
      if (ok) {
        entry->done = true;
        order_.push_back(entry->id);
        while (order_.size() > capacity_) {
          map_.erase(map_.find(*order_.front()));
          order_.pop_front();
        }
      } else {
        map_.erase(map_.find(*entry->id));
      }
    }
    for (auto& w : waiters) w(ok);
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::deque<const std::string*> order_;  // the keys of done entries, oldest first
};

// A token bucket per API token.
class Api::RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}
  // 0 when allowed, else the seconds until one request would be.
  double take(const std::string& key) {
    if (rate_ <= 0) return 0;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard g(mu_);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      double dt = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(burst_, b.tokens + dt * rate_);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / rate_;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct Api::Waiter {
  Reply reply;
  std::string action_id;
};

ApiResponse error_response(const ApiError& e) {
  ApiResponse r;
  r.status = e.status;
  r.body = error_body(e);
  if (e.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Api::Api(ApiDeps deps, ApiOptions options)
    : deps_(std::move(deps)),
      options_(options),
      ledger_(std::make_unique<ReportLedger>(options.remembered_reports)),
      limiter_(std::make_unique<RateLimiter>(options.rate_per_second, options.rate_burst)) {
  for (const Person& p : deps_.org->people) {
    if (!p.phone.empty()) by_phone_.emplace(normalize_phone(p.phone), &p);
  }
}

Api::~Api() = default;

template <typename Done>
void Api::submit(std::vector<IntakeRecord> records, Done done) {
  {
    std::lock_guard g(inflight_mu_);
    ++inflight_;
  }
  deps_.intake->submit(std::move(records), [this, done = std::move(done)](Result<bool> r) mutable {
    done(std::move(r));
    std::lock_guard g(inflight_mu_);
    if (--inflight_ == 0) inflight_cv_.notify_all();
  });
}

void Api::drain() {
  std::unique_lock lock(inflight_mu_);
  inflight_cv_.wait(lock, [this] { return inflight_ == 0; });
}

Timestamp Api::now() const {
  if (deps_.now) return deps_.now();
  auto d = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::milliseconds>(d).count()};
}

size_t Api::body_limit(const Route* route) const {
  if (route && route->id == RouteId::ReportsBatch) return options_.batch_body_limit;
  return options_.body_limit;
}

void Api::handle(const Route& route, ApiRequest req, Reply reply) noexcept {
  try {
    dispatch(route, req, reply);
  } catch (const std::exception& e) {
    // Nothing here should throw; if it does, the client still gets an answer. `reply` may
    // have been moved into a pending operation already: then that one answers.
    if (reply)
      reply(error_response(
          {500, "internal", std::string("内部错误 / internal error: ") + e.what(), {}}));
  } catch (...) {
    if (reply) reply(error_response({500, "internal", "内部错误 / internal error", {}}));
  }
}

Result<Caller> Api::authenticate(const ApiRequest& req, ApiError* error) {
  std::string_view h = req.authorization;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() < 7 || !(h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ")) {
    *error = {
        401, "unauthorized", "缺少访问令牌（Authorization: Bearer ...）/ missing bearer token", {}};
    return err(error->message);
  }
  std::string_view token = h.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  auto info = deps_.tokens->find(token);
  if (!info) {
    *error = {401, "unauthorized", "访问令牌无效或已吊销 / invalid or revoked token", {}};
    return err(error->message);
  }
  Caller c;
  c.token = info;
  if (info->kind == "sms_gateway") {
    c.gateway = true;
    return c;
  }
  c.person = deps_.org->find_person(info->person);
  if (!c.person) {
    *error = {
        401,
        "unauthorized",
        "令牌所属人员“" + info->person + "”不在组织架构中 / the token's person is not in the org",
        {}};
    return err(error->message);
  }
  c.role = c.person->role;
  c.admin = c.role == "admin";
  c.unit = c.admin ? kNoUnit : deps_.org->find_unit(c.person->unit);
  if (!c.admin && c.unit == kNoUnit) {
    *error = {401, "unauthorized", "令牌所属人员没有所属单位 / the token's person has no unit", {}};
    return err(error->message);
  }
  return c;
}

std::optional<ApiResponse> Api::rate_limit(const Caller& caller) {
  double wait = limiter_->take(caller.token ? caller.token->id : std::string());
  if (wait <= 0) return std::nullopt;
  int seconds = std::max(1, static_cast<int>(std::ceil(wait)));
  ApiResponse r = error_response(
      {429,
       "rate_limited",
       "请求过于频繁，请 " + std::to_string(seconds) + " 秒后重试 / too many requests",
       {}});
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

ReportContext Api::report_context(const Caller& caller, std::string channel) {
  ReportContext ctx;
  ctx.org = deps_.org;
  ctx.reporter = caller.person ? caller.person->id : "";
  ctx.reporter_unit = caller.person ? caller.person->unit : "";
  ctx.scope = caller.admin ? kNoUnit : caller.unit;
  ctx.may_name_reporter = caller.admin;
  ctx.channel = std::move(channel);
  ctx.now = now();
  Timestamp t = ctx.now;
  ctx.new_report_id = [t] { return "r-" + today_compact(t) + "-" + random_hex(6); };
  return ctx;
}

void Api::dispatch(const Route& route, ApiRequest& req, Reply& reply) {
  switch (route.id) {
    case RouteId::Healthz:
      reply(json_response(200, {{"status", "ok"}}));
      return;
    case RouteId::Readyz:
      get_ready(reply);
      return;
    case RouteId::Metrics:
      get_metrics(reply);
      return;
    case RouteId::OpenApi: {
      ApiResponse r;
      r.body = std::string(kOpenApiJson);
      reply(std::move(r));
      return;
    }
    default:
      break;
  }
  ApiError e;
  auto caller = authenticate(req, &e);
  if (!caller.ok()) {
    reply(error_response(e));
    return;
  }
  const Caller& c = caller.value();
  Capability cap = Capability::ReadCase;
  switch (route.id) {
    case RouteId::Reports:
    case RouteId::ReportsBatch:
      cap = Capability::Report;
      break;
    case RouteId::Sms:
      cap = Capability::Sms;
      break;
    case RouteId::Inbox:
    case RouteId::Case:
    case RouteId::OrgTree:
      cap = Capability::ReadCase;
      break;
    case RouteId::Cases:
      cap = Capability::ListCases;
      break;
    case RouteId::CaseActions:
      cap = Capability::Act;
      break;
    case RouteId::Stats:
      cap = Capability::Stats;
      break;
    case RouteId::Stream:
      cap = Capability::Stream;
      break;
    case RouteId::Workflows:
    case RouteId::WorkflowVersion:
    case RouteId::WorkflowValidate:
    case RouteId::Whatif:
      cap = Capability::Administer;
      break;
    default:
      break;
  }
  if (auto denied = check_capability(c, cap)) {
    reply(error_response(*denied));
    return;
  }
  bool writes = cap == Capability::Report || cap == Capability::Sms || cap == Capability::Act;
  if (writes) {
    if (auto limited = rate_limit(c)) {
      reply(std::move(*limited));
      return;
    }
  }
  switch (route.id) {
    case RouteId::Reports:
      post_report(c, req, std::move(reply));
      return;
    case RouteId::ReportsBatch:
      post_batch(c, req, std::move(reply));
      return;
    case RouteId::Sms:
      post_sms(c, req, std::move(reply));
      return;
    case RouteId::Inbox:
      get_cases(c, req, reply, true);
      return;
    case RouteId::Cases:
      get_cases(c, req, reply, false);
      return;
    case RouteId::Case:
      get_case(c, req, reply);
      return;
    case RouteId::CaseActions:
      post_action(c, req, std::move(reply));
      return;
    case RouteId::Stats:
      get_stats(c, req, reply);
      return;
    case RouteId::Stream:
      get_stream(c, req, reply);
      return;
    case RouteId::OrgTree:
      get_org(c, reply);
      return;
    case RouteId::Workflows:
      get_workflows(reply);
      return;
    case RouteId::WorkflowVersion:
      get_workflow_version(req, reply);
      return;
    case RouteId::WorkflowValidate:
      post_validate(req, reply);
      return;
    case RouteId::Whatif:
      post_whatif(req, reply);
      return;
    default:
      reply(error_response({404, "not_found", "未找到 / not found", {}}));
  }
}

// ---- reports -------------------------------------------------------------------------------

namespace {

// Whether a request's body may be JSON; else answered 415 here.
bool json_media_type(const ApiRequest& req, const Reply& reply) {
  std::string mt = media_type(req.content_type);
  if (!mt.empty() && mt != "application/json") {
    reply(error_response({415,
                          "unsupported_media_type",
                          "请求体须为 application/json / the body must be JSON",
                          {}}));
    return false;
  }
  return true;
}

// The JSON body of an action: 415 for another media type, 400 for what does not parse
// (answered here; nullopt then).
std::optional<json> json_request(const ApiRequest& req, const Reply& reply) {
  if (!json_media_type(req, reply)) return std::nullopt;
  ApiError e;
  auto body = parse_json_body(req.body, &e);
  if (!body.ok()) {
    reply(error_response(e));
    return std::nullopt;
  }
  return std::move(body).value();
}

}  // namespace

void Api::post_report(const Caller& caller, ApiRequest& req, Reply reply) {
  if (!json_media_type(req, reply)) return;
  ApiError e;
  auto valid = check_report_text(req.body, report_context(caller, "app"), &e);
  if (!valid.ok()) {
    reply(error_response(e));
    return;
  }
  ValidReport v = std::move(valid).value();
  // The answer is built once, before the append, and moved into the response.
  std::string answer = accepted_body(v.report_id);
  auto accepted = [](std::string body, bool replay) {
    ApiResponse r;
    r.status = 202;
    r.body = std::move(body);
    if (replay) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  };
  auto failed = [] {
    return error_response({503,
                           "intake_unavailable",
                           "暂时无法保存上报，请稍后重试 / could not store the report, retry",
                           {}});
  };
  ReportLedger::Entry* entry = nullptr;
  auto begin = ledger_->begin(
      v.report_id, v.grid,
      [&] {
        // A retry of a report still being appended: answered when the first attempt ends.
        auto shared_reply = std::make_shared<Reply>(std::move(reply));
        return [shared_reply, answer, accepted, failed](bool ok) {
          (*shared_reply)(ok ? accepted(answer, true) : failed());
        };
      },
      &entry);
  switch (begin) {
    case ReportLedger::Begin::Done:
      reply(accepted(std::move(answer), true));
      return;
    case ReportLedger::Begin::Waiting:
      return;
    case ReportLedger::Begin::Conflict:
      reply(error_response({409,
                            "conflict",
                            "report_id“" + v.report_id +
                                "”已用于另一个网格的上报 / report_id already used for "
                                "another grid",
                            {{"report.report_id", "已被使用 / already used"}}}));
      return;
    case ReportLedger::Begin::New:
      break;
  }
  std::vector<IntakeRecord> records;
  records.push_back({std::move(v.grid), std::move(v.event_line)});
  // One allocation for what the answer needs (the callback is copied into std::function).
  struct Pending {
    Reply reply;
    std::string answer;
    ReportLedger::Entry* entry;
  };
  auto p = std::make_shared<Pending>(Pending{std::move(reply), std::move(answer), entry});
  submit(std::move(records), [this, p, accepted, failed](Result<bool> r) {
    ledger_->finish(p->entry, r.ok());
    p->reply(r.ok() ? accepted(std::move(p->answer), false) : failed());
  });
}

void Api::post_batch(const Caller& caller, ApiRequest& req, Reply reply) {
  std::string mt = media_type(req.content_type);
  bool csv = mt == "text/csv";
  bool jsonl = mt == "application/x-ndjson" || mt == "application/jsonl" ||
               mt == "application/json-lines" || mt == "application/jsonlines";
  if (!csv && !jsonl) {
    reply(error_response({415,
                          "unsupported_media_type",
                          "批量上报须为 application/x-ndjson 或 text/csv / use JSON Lines or CSV",
                          {}}));
    return;
  }
  // One result per input line; `pending` counts lines still waiting for the append.
  struct Batch {
    std::mutex mu;
    json results = json::array();
    size_t pending = 0;
    size_t accepted = 0, rejected = 0;
    Reply reply;
    bool answered = false;
  };
  auto batch = std::make_shared<Batch>();
  batch->reply = std::move(reply);
  struct Candidate {
    size_t line;
    ValidReport report;
  };
  std::vector<Candidate> candidates;
  auto reject = [&](size_t line, const ApiError& e) {
    json r = {{"line", line}, {"status", e.status}};
    r.update(error_json(e));
    batch->results.push_back(std::move(r));
    ++batch->rejected;
  };
  ReportContext ctx = report_context(caller, "batch");
  auto consider = [&](size_t line, Result<ValidReport> valid, ApiError e) {
    if (!valid.ok()) {
      reject(line, e);
      return;
    }
    candidates.push_back({line, std::move(valid).value()});
  };
  size_t lines = 0;
  if (jsonl) {
    for (auto [line, text] : split_lines(req.body)) {
      if (++lines > options_.batch_max_lines) break;
      ApiError e;
      auto valid = check_report_text(text, ctx, &e);
      consider(line, std::move(valid), std::move(e));
    }
  } else {
    auto records = parse_csv(req.body);
    if (records.empty() || !records[0].error.empty()) {
      batch->reply(
          error_response({400,
                          "invalid_csv",
                          "CSV 须有表头行（如 grid,category,severity,title）/ CSV needs a header",
                          {}}));
      return;
    }
    std::vector<std::string> header;
    for (std::string h : records[0].cells) {
      while (!h.empty() && (h.back() == ' ' || h.back() == '\r')) h.pop_back();
      while (!h.empty() && h.front() == ' ') h.erase(0, 1);
      for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      header.push_back(std::move(h));
    }
    for (size_t i = 1; i < records.size(); ++i) {
      if (++lines > options_.batch_max_lines) break;
      const CsvRecord& rec = records[i];
      if (!rec.error.empty()) {
        reject(rec.line, {400, "invalid_csv", rec.error, {}});
        continue;
      }
      bool utf8 = true;
      for (const auto& cell : rec.cells) utf8 = utf8 && valid_utf8(cell);
      if (!utf8) {
        reject(rec.line, {400, "invalid_utf8", "此行不是合法的 UTF-8 编码 / not valid UTF-8", {}});
        continue;
      }
      std::vector<FieldError> fields;
      json report = csv_record_to_report(header, rec.cells, &fields);
      if (!fields.empty()) {
        reject(rec.line, {400, "validation_failed", "上报内容有误 / the report is invalid",
                          std::move(fields)});
        continue;
      }
      ApiError e{400, "validation_failed", "上报内容有误 / the report is invalid", {}};
      auto valid = check_report(report, ctx, &e.fields);
      consider(rec.line, std::move(valid), std::move(e));
    }
  }
  if (lines > options_.batch_max_lines) {
    batch->reply(error_response(
        {413,
         "too_many_lines",
         "一次最多上报 " + std::to_string(options_.batch_max_lines) + " 行 / too many lines",
         {}}));
    return;
  }
  auto finish_if_done = [](const std::shared_ptr<Batch>& b) {
    // Called with b->mu held.
    if (b->pending != 0 || b->answered) return std::optional<ApiResponse>{};
    b->answered = true;
    auto& arr = b->results;
    std::stable_sort(arr.begin(), arr.end(), [](const json& x, const json& y) {
      return x["line"].get<size_t>() < y["line"].get<size_t>();
    });
    json body = {{"accepted", b->accepted}, {"rejected", b->rejected}, {"results", arr}};
    return std::optional<ApiResponse>(json_response(200, body));
  };
  auto settle = [finish_if_done](const std::shared_ptr<Batch>& b, size_t line,
                                 const std::string& id, bool ok) {
    std::optional<ApiResponse> done;
    {
      std::lock_guard g(b->mu);
      if (ok) {
        b->results.push_back({{"line", line}, {"status", 202}, {"case_id", id}, {"report_id", id}});
        ++b->accepted;
      } else {
        json r = {{"line", line}, {"status", 503}};
        r.update(error_json({503,
                             "intake_unavailable",
                             "暂时无法保存上报，请稍后重试 / could not store the report",
                             {}}));
        b->results.push_back(std::move(r));
        ++b->rejected;
      }
      --b->pending;
      done = finish_if_done(b);
    }
    if (done) b->reply(std::move(*done));
  };
  std::vector<IntakeRecord> records;
  struct Fresh {
    size_t line;
    std::string id;
    ReportLedger::Entry* entry;
  };
  std::vector<Fresh> fresh;  // the reports in this append
  {
    std::lock_guard g(batch->mu);
    batch->pending = candidates.size() + 1;  // +1: released below, once all are registered
  }
  for (auto& c : candidates) {
    std::string id = c.report.report_id;
    size_t line = c.line;
    ReportLedger::Entry* entry = nullptr;
    auto begin = ledger_->begin(
        id, c.report.grid,
        [&] { return [batch, settle, line, id](bool ok) { settle(batch, line, id, ok); }; },
        &entry);
    switch (begin) {
      case ReportLedger::Begin::New:
        records.push_back({c.report.grid, std::move(c.report.event_line)});
        fresh.push_back({line, id, entry});
        break;
      case ReportLedger::Begin::Done:
        settle(batch, line, id, true);
        break;
      case ReportLedger::Begin::Waiting:
        break;
      case ReportLedger::Begin::Conflict: {
        std::lock_guard g(batch->mu);
        json r = {{"line", line}, {"status", 409}};
        r.update(
            error_json({409,
                        "conflict",
                        "report_id“" + id + "”已用于另一个网格 / report_id used for another grid",
                        {}}));
        batch->results.push_back(std::move(r));
        ++batch->rejected;
        --batch->pending;
        break;
      }
    }
  }
  auto release = [batch, finish_if_done] {
    std::optional<ApiResponse> done;
    {
      std::lock_guard g(batch->mu);
      --batch->pending;
      done = finish_if_done(batch);
    }
    if (done) batch->reply(std::move(*done));
  };
  if (records.empty()) {
    release();
    return;
  }
  submit(std::move(records), [this, batch, settle, fresh, release](Result<bool> r) {
    for (const auto& f : fresh) {
      ledger_->finish(f.entry, r.ok());  // answers retries (and repeats in this batch)
      settle(batch, f.line, f.id, r.ok());
    }
    release();
  });
}

// ---- SMS -----------------------------------------------------------------------------------

void Api::post_sms(const Caller& caller, ApiRequest& req, Reply reply) {
  (void)caller;
  // Gateways post a form or JSON: from (the sender's phone), text, optionally a message id.
  std::string from, text, msg_id;
  std::string mt = media_type(req.content_type);
  if (mt == "application/json") {
    ApiError e;
    auto body = parse_json_body(req.body, &e);
    if (!body.ok()) {
      reply(error_response(e));
      return;
    }
    const json& j = body.value();
    if (!j.is_object()) {
      reply(error_response(
          {400, "validation_failed", "请求体须为 JSON 对象 / must be an object", {}}));
      return;
    }
    auto str = [&](const char* k) {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    from = str("from");
    text = str("text");
    msg_id = str("id");
    if (msg_id.empty()) msg_id = str("msg_id");
  } else if (mt == "application/x-www-form-urlencoded" || mt.empty()) {
    if (!valid_utf8(req.body)) {
      reply(error_response(
          {400, "invalid_utf8", "请求体不是合法的 UTF-8 编码 / not valid UTF-8", {}}));
      return;
    }
    for (auto& [k, v] : parse_form(req.body)) {
      if (k == "from") from = v;
      if (k == "text") text = v;
      if (k == "id" || k == "msg_id") msg_id = v;
    }
  } else {
    reply(error_response(
        {415, "unsupported_media_type", "须为表单或 JSON / use a form or JSON", {}}));
    return;
  }
  std::vector<FieldError> missing;
  if (from.empty()) missing.push_back({"from", "缺少发送号码 / missing"});
  if (!valid_utf8(text) || !valid_utf8(from))
    missing.push_back({"text", "不是合法的 UTF-8 / not UTF-8"});
  if (!missing.empty()) {
    reply(error_response(
        {400, "validation_failed", "短信网关请求有误 / bad gateway request", std::move(missing)}));
    return;
  }
  // From here on the sender gets an SMS back: 200 with ok=false says what to fix (a gateway
  // retries on errors, which would only repeat the same mistake).
  bool plain = req.accept.find("text/plain") != std::string::npos;
  auto answer = [plain](bool ok, const std::string& message, const std::string& case_id) {
    ApiResponse r;
    if (plain) {
      r.content_type = "text/plain; charset=utf-8";
      r.body = message;
      return r;
    }
    json j = {{"ok", ok}, {"reply", message}};
    if (!case_id.empty()) j["case_id"] = case_id;
    r.body = dump(j);
    return r;
  };
  auto it = by_phone_.find(normalize_phone(from));
  if (it == by_phone_.end()) {
    reply(answer(false, "本号码未登记，不能上报，请联系管理员。", ""));
    return;
  }
  const Person* person = it->second;
  Caller sender;
  sender.token = caller.token;
  sender.person = person;
  sender.role = person->role;
  sender.admin = person->role == "admin";
  sender.unit = sender.admin ? kNoUnit : deps_.org->find_unit(person->unit);
  if (check_capability(sender, Capability::Report) || (!sender.admin && sender.unit == kNoUnit)) {
    reply(answer(false, "您的账号不能上报，请联系管理员。", ""));
    return;
  }
  std::string error;
  auto sms = parse_sms(text, &error);
  if (!sms) {
    reply(answer(false, error, ""));
    return;
  }
  json report = {{"grid", sms->grid},
                 {"category", sms->category},
                 {"severity", sms->severity},
                 {"channel", "sms"}};
  if (!sms->text.empty()) {
    report["description"] = sms->text;
    // The title is the text's first 20 characters (code points, not bytes).
    std::string title;
    size_t i = 0, cps = 0;
    while (i < sms->text.size() && cps < 20) {
      size_t start = i;
      auto b = static_cast<unsigned char>(sms->text[i]);
      i += b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
      title.append(sms->text, start, std::min(i, sms->text.size()) - start);
      ++cps;
    }
    report["title"] = title;
  }
  if (!msg_id.empty()) {
    // The gateway's message id makes a redelivered SMS the same report.
    report["report_id"] = "sms-" + sha256_hex(normalize_phone(from) + "\n" + msg_id).substr(0, 20);
  }
  std::vector<FieldError> fields;
  auto valid = check_report(report, report_context(sender, "sms"), &fields);
  if (!valid.ok()) {
    std::string msg = fields.empty() ? std::string("上报内容有误") : zh_only(fields[0].message);
    reply(answer(false, msg + "。格式：SB 网格编号 类别代码 紧急程度(1-5) 描述", ""));
    return;
  }
  ValidReport v = std::move(valid).value();
  std::string id = v.report_id;
  auto ok_reply = answer(true, "已受理，案件编号 " + id + "。", id);
  auto fail_reply = answer(false, "系统繁忙，请稍后重发。", "");
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  ReportLedger::Entry* entry = nullptr;
  auto begin = ledger_->begin(
      id, v.grid,
      [&] {
        return [shared_reply, ok_reply, fail_reply](bool ok) {
          (*shared_reply)(ok ? ok_reply : fail_reply);
        };
      },
      &entry);
  if (begin == ReportLedger::Begin::Done) {
    (*shared_reply)(ok_reply);
    return;
  }
  if (begin == ReportLedger::Begin::Waiting) return;
  if (begin == ReportLedger::Begin::Conflict) {
    (*shared_reply)(answer(false, "重复的短信编号，请重新发送。", ""));
    return;
  }
  std::vector<IntakeRecord> records;
  records.push_back({v.grid, std::move(v.event_line)});
  submit(std::move(records), [this, entry, shared_reply, ok_reply, fail_reply](Result<bool> r) {
    ledger_->finish(entry, r.ok());
    (*shared_reply)(r.ok() ? ok_reply : fail_reply);
  });
}

// ---- supervisors ---------------------------------------------------------------------------

Result<UnitIdx> Api::scope_unit(const Caller& caller, const ApiRequest& req, ApiError* error) {
  const Org& org = *deps_.org;
  auto unit = query_value(req, "unit");
  if (!unit || unit->empty()) {
    if (caller.unit != kNoUnit) return caller.unit;
    // Admin: the root of the tree (the first top-level unit).
    for (size_t i = 0; i < org.units.size(); ++i) {
      if (org.units[i].parent == kNoUnit) return static_cast<UnitIdx>(i);
    }
    *error = {400, "validation_failed", "组织架构为空 / the org has no units", {}};
    return err(error->message);
  }
  UnitIdx u = org.find_unit(*unit);
  if (u == kNoUnit) {
    *error = {400,
              "validation_failed",
              "未知单位 / unknown unit",
              {{"unit", "未知单位“" + *unit + "” / unknown unit"}}};
    return err(error->message);
  }
  if (caller.unit != kNoUnit && !org.in_subtree(u, caller.unit)) {
    *error = {403,
              "forbidden",
              "单位“" + *unit + "”不在您的辖区（" + org.units[caller.unit].id +
                  "）内 / outside your area",
              {}};
    return err(error->message);
  }
  return u;
}

bool Api::may_see_case(const Caller& caller, const CaseSummary& c) const {
  if (caller.unit == kNoUnit) return caller.admin;
  const Org& org = *deps_.org;
  auto within = [&](const std::string& id) {
    UnitIdx u = org.find_unit(id);
    return u != kNoUnit && org.in_subtree(u, caller.unit);
  };
  if (within(c.unit)) return true;
  for (const auto& co : c.co_handlers) {
    if (within(co)) return true;
  }
  return false;
}

void Api::get_cases(const Caller& caller, const ApiRequest& req, Reply& reply, bool inbox) {
  if (!deps_.views) {
    reply(error_response(unavailable_views()));
    return;
  }
  ApiError e;
  auto unit = scope_unit(caller, req, &e);
  if (!unit.ok()) {
    reply(error_response(e));
    return;
  }
  CaseQuery q;
  q.unit = deps_.org->units[unit.value()].id;
  std::vector<FieldError> bad;
  for (auto [name, into] : {std::pair{"level", &q.level}, std::pair{"state", &q.state},
                            std::pair{"category", &q.category}, std::pair{"grid", &q.grid},
                            std::pair{"cursor", &q.cursor}}) {
    if (auto v = query_value(req, name)) *into = *v;
  }
  if (!q.level.empty() && deps_.org->level_index(q.level) < 0) {
    bad.push_back({"level", "未知层级“" + q.level + "” / unknown level"});
  }
  if (auto v = query_value(req, "overdue")) {
    if (*v == "true" || *v == "1") {
      q.overdue = true;
    } else if (*v == "false" || *v == "0") {
      q.overdue = false;
    } else {
      bad.push_back({"overdue", "须为 true 或 false / must be true or false"});
    }
  }
  if (auto v = query_value(req, "limit")) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n == 0 || n > options_.page_limit_max) {
      bad.push_back({"limit", "须为 1 到 " + std::to_string(options_.page_limit_max) +
                                  " 的整数 / must be an integer in range"});
    } else {
      q.limit = n;
    }
  }
  if (!bad.empty()) {
    reply(error_response({400, "validation_failed", "查询参数有误 / bad query", std::move(bad)}));
    return;
  }
  q.now = now();
  if (inbox) q.open = true;
  auto page = inbox ? deps_.views->inbox(q) : deps_.views->cases(q);
  if (!page.ok()) {
    reply(error_response(
        {503, "views_error", "查询失败 / query failed: " + page.error().message, {}}));
    return;
  }
  json items = json::array();
  for (const auto& c : page->items) items.push_back(summary_json(c, q.now));
  reply(json_response(
      200, {{"unit", q.unit},
            {"items", std::move(items)},
            {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}}));
}

void Api::get_case(const Caller& caller, const ApiRequest& req, Reply& reply) {
  if (!deps_.views) {
    reply(error_response(unavailable_views()));
    return;
  }
  std::string id = param(req, "id");
  auto d = deps_.views->detail(id);
  if (!d.ok()) {
    reply(
        error_response({503, "views_error", "查询失败 / query failed: " + d.error().message, {}}));
    return;
  }
  if (!d.value()) {
    reply(error_response({404, "not_found", "案件“" + id + "”不存在 / no such case", {}}));
    return;
  }
  const CaseDetail& detail = *d.value();
  const CaseSummary& c = detail.summary;
  if (!may_see_case(caller, c)) {
    reply(error_response(
        {403, "forbidden", "案件“" + id + "”不在您的辖区内 / the case is outside your area", {}}));
    return;
  }
  auto tl = deps_.views->timeline(id);
  if (!tl.ok()) {
    reply(
        error_response({503, "views_error", "查询失败 / query failed: " + tl.error().message, {}}));
    return;
  }
  json timeline = json::array();
  for (const auto& line : tl.value()) {
    json ev = json::parse(line, nullptr, false);
    timeline.push_back(ev.is_discarded() ? json(line) : std::move(ev));
  }
  json body = {{"case", summary_json(c, now())}};
  body["case"]["workflow_version"] =
      detail.workflow_version >= 0 ? json(detail.workflow_version) : json(nullptr);
  body["report"] = report_json(detail);
  if (auto actions = case_actions(caller, detail)) body["actions"] = std::move(*actions);
  body["timeline"] = std::move(timeline);
  reply(json_response(200, body));
}

// The opening report as the case page shows it: the list row's fields, and the rest when
// the views keep them (null when not given, or not kept by an older record).
json Api::report_json(const CaseDetail& d) const {
  const CaseSummary& c = d.summary;
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json r = {{"title", c.title},
            {"category", c.category},
            {"severity", c.severity},
            {"grid", c.grid},
            {"report_id", nullptr},
            {"description", nullptr},
            {"household", nullptr},
            {"hukou_township", nullptr},
            {"hukou_township_name", nullptr},
            {"households_affected", nullptr},
            {"location", nullptr},
            {"reporter", nullptr},
            {"channel", nullptr},
            {"occurred_at", nullptr}};
  if (!d.report) return r;
  const CaseReport& p = *d.report;
  r["report_id"] = opt(p.report_id);
  r["description"] = opt(p.description);
  r["household"] = opt(p.household);
  r["hukou_township"] = opt(p.hukou_township);
  if (!p.hukou_township.empty()) {
    UnitIdx u = deps_.org->find_unit(p.hukou_township);
    if (u != kNoUnit) r["hukou_township_name"] = deps_.org->units[u].name;
  }
  if (p.households_affected) r["households_affected"] = *p.households_affected;
  if (p.lat && p.lon) r["location"] = {{"lat", *p.lat}, {"lon", *p.lon}};
  r["reporter"] = opt(p.reporter);
  r["channel"] = opt(p.channel);
  r["occurred_at"] = opt(p.occurred_at);
  return r;
}

// The actions the case's workflow (at the case's version) accepts in its state, each with
// who may take it (`by` of the transitions whose `when` is not known to be false here) and
// whether the caller is among them: `allowed` when such a transition's `by` admits the
// caller's unit as the engine checks it; `conditional` when each of those has a `when` the
// API cannot decide (it reads a variable, the report, the note...): the engine may still
// refuse. `when`: those undecided expressions. nullopt: no catalog, or the version or state
// is unknown to it.
std::optional<json> Api::case_actions(const Caller& caller, const CaseDetail& d) const {
  if (!deps_.workflows) return std::nullopt;
  const CaseSummary& c = d.summary;
  if (c.closed) return json::array();
  auto offered = deps_.workflows->actions(c.workflow, d.workflow_version, c.state);
  if (!offered) return std::nullopt;
  const Org& org = *deps_.org;
  // The engine checks `by` against the action's actor_unit: the person's own unit.
  UnitIdx actor = caller.person ? org.find_unit(caller.person->unit) : kNoUnit;
  std::vector<UnitIdx> co;
  for (const auto& id : c.co_handlers) co.push_back(org.find_unit(id));
  uint8_t rel = actor_relation(org, actor, org.find_unit(c.unit), co);
  CaseFacts facts;
  facts.id = c.case_id;
  facts.state = c.state;
  facts.level = c.level;
  facts.unit = c.unit;
  facts.grid = c.grid;
  facts.workflow = c.workflow;
  facts.co_handlers = c.co_handlers;
  facts.opened_at = c.opened_at;
  facts.closed = c.closed;
  facts.actor = caller.person ? caller.person->id : "";
  Timestamp t = now();
  json out = json::array();
  for (const OfferedAction& a : *offered) {
    facts.action = a.action;
    uint8_t by = 0;
    bool allowed = false, unconditional = false;
    json when = json::array();
    for (const ActionRule& r : a.rules) {
      WhenVerdict v = r.when_expr ? probe_when(*r.when_expr, facts, t) : WhenVerdict::True;
      if (v == WhenVerdict::False) continue;  // cannot apply to this case now
      by |= r.by;
      if (v == WhenVerdict::Unknown) when.push_back(r.when);
      if (r.by & rel) {
        allowed = true;
        if (v == WhenVerdict::True) unconditional = true;
      }
    }
    if (by == 0) {
      // No transition can apply now (every `when` is false): offered to no one.
      out.push_back({{"action", a.action},
                     {"by", json::array()},
                     {"allowed", false},
                     {"conditional", false},
                     {"when", json::array()}});
      continue;
    }
    out.push_back({{"action", a.action},
                   {"by", by_names(by)},
                   {"allowed", allowed},
                   {"conditional", allowed && !unconditional},
                   {"when", std::move(when)}});
  }
  return out;
}

void Api::get_stats(const Caller& caller, const ApiRequest& req, Reply& reply) {
  if (!deps_.views) {
    reply(error_response(unavailable_views()));
    return;
  }
  ApiError e;
  auto unit = scope_unit(caller, req, &e);
  if (!unit.ok()) {
    reply(error_response(e));
    return;
  }
  Timestamp to = now();
  Timestamp from{to.ms - 30LL * 24 * 3600 * 1000};  // the last 30 days by default
  std::vector<FieldError> bad;
  for (auto [name, into] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
    if (auto v = query_value(req, name)) {
      auto t = parse_timestamp(*v);
      if (!t.ok()) {
        bad.push_back({name, "须为 RFC 3339 时间 / must be an RFC 3339 time"});
      } else {
        *into = t.value();
      }
    }
  }
  if (bad.empty() && !(from < to)) bad.push_back({"from", "须早于 to / must be before `to`"});
  if (!bad.empty()) {
    reply(error_response({400, "validation_failed", "查询参数有误 / bad query", std::move(bad)}));
    return;
  }
  const std::string& uid = deps_.org->units[unit.value()].id;
  auto st = deps_.views->stats(uid, from, to);
  if (!st.ok()) {
    reply(
        error_response({503, "views_error", "查询失败 / query failed: " + st.error().message, {}}));
    return;
  }
  const UnitStats& u = st.value();
  auto levels = [](const std::vector<LevelCount>& v) {
    json o = json::object();
    for (const auto& l : v) o[l.level] = l.count;
    return o;
  };
  reply(json_response(
      200, {{"unit", u.unit.empty() ? uid : u.unit},
            {"from", format_timestamp(from)},
            {"to", format_timestamp(to)},
            {"opened", u.opened},
            {"closed", u.closed},
            {"closed_at_grid_share", u.closed_at_grid_share},
            {"closed_in_village_share", u.closed_in_village_share},
            {"sla_breaches", levels(u.sla_breaches)},
            {"open_by_level", levels(u.open_by_level)},
            {"median_close_ms", u.median_close_ms ? json(*u.median_close_ms) : json(nullptr)},
            {"reopen_rate", u.reopen_rate}}));
}

void Api::post_action(const Caller& caller, ApiRequest& req, Reply reply) {
  if (!deps_.views) {
    // The action needs the case's origin grid (the partition key) and a jurisdiction check.
    reply(error_response(unavailable_views()));
    return;
  }
  auto body = json_request(req, reply);
  if (!body) return;
  const json& b = *body;
  std::vector<FieldError> bad;
  std::string action, action_id;
  if (!b.is_object()) {
    bad.push_back({"", "请求体须为 JSON 对象 / must be an object"});
  } else {
    auto a = b.find("action");
    if (a == b.end() || a->is_null()) {
      bad.push_back({"action", "缺少操作名 / missing"});
    } else if (!a->is_string() || !valid_action_name(a->get_ref<const std::string&>())) {
      bad.push_back({"action", "操作名须为小写字母、数字和下划线 / lowercase letters, digits, _"});
    } else if (reserved_action(a->get_ref<const std::string&>())) {
      bad.push_back({"action", "“" + a->get<std::string>() + "”由引擎保留 / reserved"});
    } else {
      action = a->get<std::string>();
    }
    if (auto n = b.find("note");
        n != b.end() && !n->is_null() &&
        (!n->is_string() || n->get_ref<const std::string&>().size() > 4000)) {
      bad.push_back({"note", "须为字符串，最长 4000 字节 / a string of at most 4000 bytes"});
    }
    if (auto d = b.find("data"); d != b.end() && !d->is_null() && !d->is_object()) {
      bad.push_back({"data", "须为对象 / must be an object"});
    }
    if (auto i = b.find("action_id"); i != b.end() && !i->is_null()) {
      const std::string* s = i->is_string() ? &i->get_ref<const std::string&>() : nullptr;
      bool ok = s && !s->empty() && s->size() <= 128;
      if (ok) {
        for (char c : *s) {
          ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                      c == '.' || c == ':');
        }
      }
      if (!ok) {
        bad.push_back({"action_id", "只能包含字母、数字和 - _ . : / letters, digits, - _ . :"});
      } else {
        action_id = *s;
      }
    }
  }
  if (!bad.empty()) {
    reply(error_response(
        {400, "validation_failed", "操作内容有误 / the action is invalid", std::move(bad)}));
    return;
  }
  std::string id = param(req, "id");
  auto s = deps_.views->summary(id);
  if (!s.ok()) {
    reply(
        error_response({503, "views_error", "查询失败 / query failed: " + s.error().message, {}}));
    return;
  }
  if (!s.value()) {
    reply(error_response({404, "not_found", "案件“" + id + "”不存在 / no such case", {}}));
    return;
  }
  if (!may_see_case(caller, *s.value())) {
    reply(
        error_response({403,
                        "forbidden",
                        "案件“" + id + "”不在您的辖区内，不能操作 / the case is outside your area",
                        {}}));
    return;
  }
  if (action_id.empty()) action_id = "a-" + random_hex(8);
  json ev = {{"type", "action"},
             {"at", format_timestamp(now())},
             {"case_id", id},
             {"grid", s.value()->grid},
             {"action", action},
             {"actor", caller.person ? caller.person->id : ""},
             {"actor_unit", caller.person ? caller.person->unit : ""},
             {"action_id", action_id}};
  if (auto n = b.find("note"); n != b.end() && !n->is_null()) ev["note"] = *n;
  if (auto d = b.find("data"); d != b.end() && !d->is_null()) ev["data"] = *d;

  // The waiter is in place before the event can reach the engine, so no outcome is missed.
  auto waiter = std::make_shared<Waiter>();
  waiter->reply = std::move(reply);
  waiter->action_id = action_id;
  {
    std::lock_guard g(waiters_mu_);
    if (waiters_.count(action_id)) {
      waiter->reply(error_response({409,
                                    "conflict",
                                    "相同 action_id 的操作正在处理 / an action with this id is in "
                                    "flight",
                                    {}}));
      return;
    }
    waiters_[action_id] = waiter;
  }
  auto take = [this](const std::string& aid) -> std::shared_ptr<Waiter> {
    std::lock_guard g(waiters_mu_);
    auto it = waiters_.find(aid);
    if (it == waiters_.end()) return nullptr;
    auto w = std::move(it->second);
    waiters_.erase(it);
    return w;
  };
  std::vector<IntakeRecord> records;
  records.push_back({s.value()->grid, dump(ev)});
  auto timeout = options_.action_timeout;
  submit(std::move(records), [this, take, action_id, id, timeout](Result<bool> r) {
    if (!r.ok()) {
      if (auto w = take(action_id)) {
        w->reply(error_response({503,
                                 "intake_unavailable",
                                 "暂时无法保存操作，请稍后重试 / could not store the action",
                                 {}}));
      }
      return;
    }
    auto pending = [take, action_id, id] {
      if (auto w = take(action_id)) {
        // Durable, not yet processed: the outcome shows in the case's timeline later.
        w->reply(
            json_response(202, {{"action_id", action_id}, {"case_id", id}, {"status", "pending"}}));
      }
    };
    if (deps_.after) {
      deps_.after(timeout, pending);
    } else {
      pending();
    }
  });
}

void Api::on_outcome(const std::string& action_id, const ActionOutcome& outcome,
                     const std::vector<std::string>& events) {
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard g(waiters_mu_);
    auto it = waiters_.find(action_id);
    if (it == waiters_.end()) return;  // not ours, or it already timed out (202)
    w = std::move(it->second);
    waiters_.erase(it);
  }
  json evs = json::array();
  std::string rejected;
  for (const auto& line : events) {
    json ev = json::parse(line, nullptr, false);
    if (!ev.is_object()) continue;  // value() would throw on anything else
    auto type = ev.find("type");
    if (type != ev.end() && *type == "event_rejected") {
      auto reason = ev.find("reason");
      rejected = reason != ev.end() && reason->is_string() ? reason->get<std::string>()
                                                           : std::string("rejected");
    }
    evs.push_back(std::move(ev));
  }
  switch (outcome.kind) {
    case ActionOutcome::Kind::Invalid:
      w->reply(error_response({422,
                               "invalid_action",
                               "引擎拒绝了该操作：" + outcome.reason + " / the engine rejected it",
                               {}}));
      return;
    case ActionOutcome::Kind::Duplicate:
      w->reply(json_response(
          200, {{"action_id", action_id}, {"duplicate", true}, {"events", json::array()}}));
      return;
    case ActionOutcome::Kind::Applied:
      break;
  }
  if (!rejected.empty()) {
    json body = error_json(
        {409, "rejected", "当前状态下不能执行该操作：" + rejected + " / not allowed now", {}});
    body["events"] = std::move(evs);
    w->reply(json_response(409, body));
    return;
  }
  w->reply(json_response(200, {{"action_id", action_id}, {"events", std::move(evs)}}));
}

// ---- the feed --------------------------------------------------------------------------------

// GET /v1/org: who the caller is, and the names of the units they may see (their subtree)
// and of the units above them (cases leave a subtree upwards when they escalate).
void Api::get_org(const Caller& caller, Reply& reply) {
  const Org& org = *deps_.org;
  auto unit_json = [&](UnitIdx i) {
    const Unit& u = org.units[i];
    return json{{"id", u.id},
                {"name", u.name},
                {"level", org.levels[u.level]},
                {"parent", u.parent == kNoUnit ? json(nullptr) : json(org.units[u.parent].id)}};
  };
  json units = json::array();
  for (size_t i = 0; i < org.units.size(); ++i) {
    UnitIdx u = static_cast<UnitIdx>(i);
    bool visible =
        caller.unit == kNoUnit || org.in_subtree(u, caller.unit) || org.in_subtree(caller.unit, u);
    if (visible) units.push_back(unit_json(u));
  }
  json me = {{"person", caller.person ? json(caller.person->id) : json(nullptr)},
             {"name", caller.person ? json(caller.person->name) : json(nullptr)},
             {"role", caller.role},
             {"unit", caller.unit == kNoUnit ? json(nullptr) : json(org.units[caller.unit].id)}};
  reply(json_response(
      200, {{"me", std::move(me)}, {"levels", org.levels}, {"units", std::move(units)}}));
}

// ---- administrators: workflow versions and validation --------------------------------------

namespace {

ApiError unavailable_workflows() {
  return {503, "workflows_unavailable", "流程信息不可用 / the workflows are not available", {}};
}

json workflow_json(const WorkflowInfo& w) {
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"name", w.name},
          {"version", w.version},
          {"hash", opt(w.hash)},
          {"file", opt(w.file)},
          {"description", opt(w.description)},
          {"deployed_at", opt(w.deployed_at)},
          {"actor", opt(w.actor)},
          {"live", w.live}};
}

}  // namespace

void Api::get_workflows(Reply& reply) {
  if (!deps_.workflows) {
    reply(error_response(unavailable_workflows()));
    return;
  }
  json items = json::array();
  for (const WorkflowInfo& w : deps_.workflows->list()) items.push_back(workflow_json(w));
  reply(json_response(200, {{"workflows", std::move(items)}}));
}

void Api::get_workflow_version(const ApiRequest& req, Reply& reply) {
  if (!deps_.workflows) {
    reply(error_response(unavailable_workflows()));
    return;
  }
  std::string name = param(req, "name");
  std::string v = param(req, "version");
  int64_t version = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  if (ec != std::errc() || p != v.data() + v.size() || version < 0) {
    reply(error_response({400,
                          "validation_failed",
                          "版本号须为非负整数 / the version must be a non-negative integer",
                          {{"version", "须为非负整数 / must be a non-negative integer"}}}));
    return;
  }
  auto w = deps_.workflows->get(name, version);
  if (!w) {
    reply(error_response(
        {404, "not_found", "流程“" + name + "”没有版本 " + v + " / no such workflow version", {}}));
    return;
  }
  json j = workflow_json(*w);
  j["text"] = w->text;
  reply(json_response(200, j));
}

// POST /v1/workflows/validate: the workflow loader of `gridcase validate` over the proposed
// text, against the org tree the server runs on. 200 with the verdict and every problem
// (line and column from 1); 400 when there is no text to check.
void Api::post_validate(const ApiRequest& req, Reply& reply) {
  std::string text, file = "proposed.yaml";
  std::string mt = media_type(req.content_type);
  if (mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml") {
    text = req.body;
  } else {
    auto body = json_request(req, reply);
    if (!body) return;
    auto y = body->is_object() ? body->find("yaml") : body->end();
    if (!body->is_object() || y == body->end() || !y->is_string()) {
      reply(error_response({400,
                            "validation_failed",
                            "缺少流程文本 / the workflow text is missing",
                            {{"yaml", "须为字符串 / must be a string"}}}));
      return;
    }
    text = y->get<std::string>();
    if (auto f = body->find("file"); f != body->end() && f->is_string()) {
      // Only a base name: the file is placed beside the deployed workflows.
      std::string name = f->get<std::string>();
      if (auto slash = name.find_last_of("/\\"); slash != std::string::npos) {
        name = name.substr(slash + 1);
      }
      if (!name.empty() && name[0] != '.') file = name;
    }
  }
  if (!valid_utf8(text)) {
    reply(error_response({400, "invalid_utf8", "流程文本不是合法的 UTF-8 / not valid UTF-8", {}}));
    return;
  }
  std::string path = deps_.workflows_dir.empty()
                         ? file
                         : (std::filesystem::path(deps_.workflows_dir) / file).string();
  Diagnostics diags;
  auto wf = load_workflow_text(text, path, deps_.org, diags);
  json problems = json::array();
  int errors = 0, warnings = 0;
  for (const Diagnostic& d : diags.all()) {
    bool error = d.severity == Diagnostic::Severity::Error;
    (error ? errors : warnings) += 1;
    // A problem of another file (a calendar the workflow names) keeps its own file name.
    bool here = d.file == path;
    problems.push_back({{"severity", error ? "error" : "warning"},
                        {"file", here ? file : d.file},
                        {"line", d.pos.line > 0 ? json(d.pos.line) : json(nullptr)},
                        {"column", d.pos.col > 0 ? json(d.pos.col) : json(nullptr)},
                        {"message", d.message},
                        {"text", here ? d.format().replace(0, path.size(), file) : d.format()}});
  }
  json out = {{"valid", wf.has_value() && errors == 0},
              {"file", file},
              {"name", wf ? json(wf->name) : json(nullptr)},
              {"errors", errors},
              {"warnings", warnings},
              {"problems", std::move(problems)}};
  if (wf && deps_.workflows) {
    // Which deployed workflow it would replace, if any.
    int64_t live = -1;
    for (const WorkflowInfo& w : deps_.workflows->list()) {
      if (w.name == wf->name && w.live) live = w.version;
    }
    out["live_version"] = live >= 0 ? json(live) : json(nullptr);
  }
  reply(json_response(200, out));
}

// POST /v1/whatif: the proposed workflow replayed against the live rules (the live version
// of every workflow, the proposed one replacing the live one of its name) over the input
// recorded in the embedded log: its last `limit` input events, in virtual time up to now,
// as `gridcase whatif --json` does. Runs on the request's thread, one at a time.
void Api::post_whatif(const ApiRequest& req, Reply& reply) {
  if (!deps_.workflows) {
    reply(error_response(unavailable_workflows()));
    return;
  }
  if (!deps_.recorded_input) {
    reply(error_response({501,
                          "not_implemented",
                          "规则预演需要内嵌日志中的输入（Kafka 模式下请用 gridcase whatif）/ "
                          "what-if needs the embedded log's input (on Kafka use gridcase whatif)",
                          {}}));
    return;
  }
  auto body = json_request(req, reply);
  if (!body) return;
  constexpr size_t kDefaultWindow = 20000, kMaxWindow = 100000;
  size_t limit = kDefaultWindow;
  std::vector<FieldError> bad;
  std::string text;
  if (!body->is_object() || !body->contains("yaml") || !(*body)["yaml"].is_string()) {
    bad.push_back({"yaml", "须为字符串 / must be a string"});
  } else {
    text = (*body)["yaml"].get<std::string>();
  }
  if (body->is_object() && body->contains("limit")) {
    const json& l = (*body)["limit"];
    if (!l.is_number_unsigned() || l.get<uint64_t>() == 0 || l.get<uint64_t>() > kMaxWindow) {
      bad.push_back(
          {"limit", "须为 1 到 " + std::to_string(kMaxWindow) + " 的整数 / an integer in range"});
    } else {
      limit = l.get<size_t>();
    }
  }
  if (!bad.empty()) {
    reply(error_response({400, "validation_failed", "请求有误 / bad request", std::move(bad)}));
    return;
  }
  std::unique_lock busy(whatif_mu_, std::try_to_lock);
  if (!busy.owns_lock()) {
    reply(error_response(
        {409, "conflict", "另一次规则预演正在进行 / another what-if is running", {}}));
    return;
  }
  const Org& org = *deps_.org;
  std::string path = deps_.workflows_dir.empty()
                         ? std::string("proposed.yaml")
                         : (std::filesystem::path(deps_.workflows_dir) / "proposed.yaml").string();
  Diagnostics diags;
  auto proposed = load_workflow_text(text, path, &org, diags);
  if (!proposed || diags.has_errors()) {
    std::vector<FieldError> fields;
    for (const Diagnostic& d : diags.all()) {
      if (d.severity == Diagnostic::Severity::Error) fields.push_back({"yaml", d.format()});
    }
    reply(error_response({422, "invalid_workflow",
                          "流程未通过校验，不能预演 / the workflow does not validate",
                          std::move(fields)}));
    return;
  }
  // The live rules, loaded afresh from their texts (the engine's own are its thread's).
  std::vector<WorkflowInfo> live;
  for (const WorkflowInfo& w : deps_.workflows->list()) {
    if (!w.live) continue;
    auto full = deps_.workflows->get(w.name, w.version);
    if (full) live.push_back(std::move(*full));
  }
  std::vector<Workflow> old_set, new_set;
  std::optional<int64_t> replaces;
  for (const WorkflowInfo& w : live) {
    for (int side = 0; side < 2; ++side) {
      if (side == 1 && w.name == proposed->name) {
        replaces = w.version;
        continue;
      }
      Diagnostics d;
      auto wf = load_workflow_text(w.text, w.file, &org, d);
      if (!wf) {
        reply(error_response({503,
                              "workflows_unavailable",
                              "现行流程“" + w.name +
                                  "”无法重新加载 / the live workflow does not "
                                  "load here: " +
                                  (d.all().empty() ? "" : d.all()[0].format()),
                              {}}));
        return;
      }
      (side == 0 ? old_set : new_set).push_back(std::move(*wf));
    }
  }
  std::string proposed_name = proposed->name;
  new_set.push_back(std::move(*proposed));
  auto records = deps_.recorded_input(limit);
  if (!records.ok()) {
    reply(error_response(
        {503,
         "intake_unavailable",
         "无法读取已记录的输入 / cannot read the recorded input: " + records.error().message,
         {}}));
    return;
  }
  std::vector<InputEvent> inputs;
  uint64_t bad_lines = 0;
  for (const std::string& payload : records.value()) {
    auto e = gridcase::json::parse_input_event(payload, org);
    if (!e.ok()) {
      ++bad_lines;
      continue;
    }
    inputs.push_back(std::move(e).value());
  }
  // The org outlives the server: an engine may point at it without owning it.
  std::shared_ptr<const Org> org_ptr(std::shared_ptr<const Org>(), &org);
  Engine old_engine(org_ptr, std::move(old_set));
  Engine new_engine(org_ptr, std::move(new_set));
  Timestamp until = now();
  whatif::Report report = whatif::compare(old_engine, new_engine, inputs, until);
  report.bad_lines = bad_lines;
  json out = json::parse(whatif::to_json(report));
  constexpr size_t kShownDifferences = 100;
  if (out["differences"].size() > kShownDifferences) {
    out["differences"].erase(out["differences"].begin() + kShownDifferences,
                             out["differences"].end());
  }
  out["workflow"] = proposed_name;
  out["replaces_version"] = replaces ? json(*replaces) : json(nullptr);
  out["window"] = {
      {"records", records.value().size()},
      {"limit", limit},
      {"from", inputs.empty() ? json(nullptr) : json(format_timestamp(inputs.front().at))},
      {"to", inputs.empty() ? json(nullptr) : json(format_timestamp(inputs.back().at))},
      {"until", format_timestamp(until)}};
  reply(json_response(200, out));
}

void Api::get_stream(const Caller& caller, const ApiRequest& req, Reply& reply) {
  if (!deps_.views) {
    reply(error_response(unavailable_views()));
    return;
  }
  // Resume after Last-Event-ID (the header, or `last_event_id` for clients that cannot set
  // it); a new subscriber starts at the head: only what happens from now on.
  std::string from = req.last_event_id;
  if (from.empty()) from = query_value(req, "last_event_id").value_or("");
  uint64_t after = 0;
  if (from.empty()) {
    after = deps_.views->feed_head();
  } else {
    auto [p, ec] = std::from_chars(from.data(), from.data() + from.size(), after);
    if (ec != std::errc() || p != from.data() + from.size()) {
      reply(error_response({400,
                            "validation_failed",
                            "Last-Event-ID 须为整数 / must be an integer",
                            {{"Last-Event-ID", "须为整数 / must be an integer"}}}));
      return;
    }
  }
  ApiResponse r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.stream = StreamStart{caller, after};
  reply(std::move(r));
}

Result<std::vector<FeedEntry>> Api::stream_batch(const Caller& caller, uint64_t after, size_t max,
                                                 uint64_t* scanned) {
  *scanned = after;
  if (!deps_.views) return std::vector<FeedEntry>{};
  auto entries = deps_.views->feed(after, max);
  if (!entries.ok()) return entries.error();
  std::vector<FeedEntry> out;
  const Org& org = *deps_.org;
  for (auto& e : entries.value()) {
    *scanned = std::max(*scanned, e.id);
    bool visible = caller.admin;
    for (size_t i = 0; !visible && i < e.units.size(); ++i) {
      UnitIdx u = org.find_unit(e.units[i]);
      visible = u != kNoUnit && caller.unit != kNoUnit && org.in_subtree(u, caller.unit);
    }
    if (visible) out.push_back(std::move(e));
  }
  return out;
}

// ---- operations ------------------------------------------------------------------------------

void Api::get_ready(Reply& reply) {
  json checks = json::object();
  bool ok = true;
  std::string why;
  if (deps_.intake->ready(&why)) {
    checks["intake"] = "ok";
  } else {
    checks["intake"] = why;
    ok = false;
  }
  if (deps_.hooks.store_ready) {
    why.clear();
    if (deps_.hooks.store_ready(&why)) {
      checks["store"] = "ok";
    } else {
      checks["store"] = why;
      ok = false;
    }
  }
  checks["views"] = deps_.views ? "ok" : "disabled";
  reply(
      json_response(ok ? 200 : 503, {{"status", ok ? "ready" : "not_ready"}, {"checks", checks}}));
}

void Api::get_metrics(Reply& reply) {
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  counters_.render(r.body);
  if (deps_.hooks.service_metrics) r.body += deps_.hooks.service_metrics();
  reply(std::move(r));
}

}  // namespace gridcase::http
