#pragma once
// Method + path routing with {name} parameters. Pure: no networking, so the OpenAPI test
// can compare the route table with the document.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gridcase::http {

enum class RouteId {
  Healthz,
  Readyz,
  Metrics,
  OpenApi,
  Reports,
  ReportsBatch,
  Sms,
  Inbox,
  Cases,
  Case,
  CaseActions,
  Stats,
  Stream,
  OrgTree,
  Workflows,
  WorkflowVersion,
  WorkflowValidate,
  Whatif,
};

struct Route {
  std::string method;  // "GET", "POST"
  std::string path;    // template: "/v1/cases/{id}"; also the metrics label
  RouteId id;
};

// Every route of the API (the OpenAPI document lists exactly these).
const std::vector<Route>& api_routes();

class Router {
 public:
  explicit Router(std::vector<Route> routes);

  struct Match {
    enum class Kind { Found, NotFound, MethodNotAllowed };
    Kind kind = Kind::NotFound;
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;  // percent-decoded
    std::string allow;                                        // MethodNotAllowed: "GET, POST"
  };
  // `path` without the query string.
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Compiled {
    Route route;
    std::vector<std::string> segments;  // "{id}" marks a parameter
  };
  std::vector<Compiled> routes_;
};

}  // namespace gridcase::http
