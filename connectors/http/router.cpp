#include "connectors/http/router.hpp"

#include "connectors/http/parsers.hpp"

namespace gridcase::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

const std::vector<Route>& api_routes() {
  static const std::vector<Route> routes = {
      {"GET", "/healthz", RouteId::Healthz},
      {"GET", "/readyz", RouteId::Readyz},
      {"GET", "/metrics", RouteId::Metrics},
      {"GET", "/v1/openapi.json", RouteId::OpenApi},
      {"POST", "/v1/reports", RouteId::Reports},
      {"POST", "/v1/reports/batch", RouteId::ReportsBatch},
      {"POST", "/v1/sms", RouteId::Sms},
      {"GET", "/v1/inbox", RouteId::Inbox},
      {"GET", "/v1/cases", RouteId::Cases},
      {"GET", "/v1/cases/{id}", RouteId::Case},
      {"POST", "/v1/cases/{id}/actions", RouteId::CaseActions},
      {"GET", "/v1/stats", RouteId::Stats},
      {"GET", "/v1/stream", RouteId::Stream},
      {"GET", "/v1/org", RouteId::OrgTree},
      {"GET", "/v1/workflows", RouteId::Workflows},
      {"GET", "/v1/workflows/{name}/{version}", RouteId::WorkflowVersion},
      {"POST", "/v1/workflows/validate", RouteId::WorkflowValidate},
      {"POST", "/v1/whatif", RouteId::Whatif},
  };
  return routes;
}

Router::Router(std::vector<Route> routes) {
  for (auto& r : routes) {
    Compiled c;
    for (auto seg : split_path(r.path)) c.segments.emplace_back(seg);
    c.route = std::move(r);
    routes_.push_back(std::move(c));
  }
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (const auto& c : routes_) {
    if (c.segments.size() != segs.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_param(c.segments[i])) {
        std::string v = percent_decode(segs[i], false);
        if (v.empty()) ok = false;
        params.emplace_back(c.segments[i].substr(1, c.segments[i].size() - 2), std::move(v));
      } else {
        ok = c.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    if (c.route.method == method) {
      m.kind = Match::Kind::Found;
      m.route = &c.route;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    if (m.allow.find(c.route.method) == std::string::npos) {
      m.allow += (m.allow.empty() ? "" : ", ") + c.route.method;
    }
    m.kind = Match::Kind::MethodNotAllowed;
  }
  return m;
}

}  // namespace gridcase::http
