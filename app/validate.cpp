#include "app/commands.hpp"
#include "app/serve_config.hpp"

#include <iostream>

#include "engine/workflow.hpp"
#include "engine/yaml_util.hpp"

namespace gridcase::app {

namespace {

// The `kind:` of a YAML file, "ServeConfig" for the serve config (config/gridcase.yaml, which
// has none), or "" when it cannot be told (the loaders report why).
std::string kind_of(const std::string& path) {
  std::string text;
  if (!yaml::read_file(path, text)) return "";
  try {
    const YAML::Node n = YAML::Load(text);
    if (n.IsMap() && n["kind"] && n["kind"].IsScalar()) return n["kind"].Scalar();
    if (looks_like_serve_config(n)) return "ServeConfig";
  } catch (const YAML::Exception&) {
  }
  return "";
}

}  // namespace

int run_validate(const std::vector<std::string>& paths) {
  Diagnostics diags;
  std::vector<std::string> orgs, workflows, calendars, configs;
  for (const auto& p : paths) {
    for (const auto& f : yaml_files(p, diags)) {
      std::string kind = kind_of(f);
      if (kind == "Org") {
        orgs.push_back(f);
      } else if (kind == "Calendar") {
        calendars.push_back(f);
      } else if (kind == "ServeConfig") {
        configs.push_back(f);
      } else {
        workflows.push_back(f);  // also files of unknown kind: the workflow loader says why
      }
    }
  }
  std::optional<Org> org;
  for (const auto& f : orgs) {
    auto o = load_org_file(f, diags);
    if (o && !org) org = std::move(o);
  }
  if (orgs.size() > 1)
    diags.warning(orgs[1], {},
                  "more than one org file given; workflows are checked against " + orgs[0]);
  int n_calendars = 0;
  for (const auto& f : calendars) n_calendars += load_calendar_file(f, diags) ? 1 : 0;
  for (const auto& f : configs) (void)check_serve_config_file(f, diags);
  // As the engine loads them: one name per workflow, and none shadowed by another.
  size_t n_workflows = 0;
  if (!workflows.empty()) {
    if (auto wfs = load_workflows(workflows, org ? &*org : nullptr, diags))
      n_workflows = wfs->size();
  }
  for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
  int warnings = static_cast<int>(diags.all().size()) - diags.error_count();
  if (diags.has_errors()) {
    std::cerr << "校验失败 / invalid: " << diags.error_count() << " 个错误 error(s), " << warnings
              << " 个警告 warning(s)\n";
    return 1;
  }
  std::cout << "校验通过 / valid: " << n_workflows << " 个流程 workflow(s)";
  if (org)
    std::cout << ", 组织树 org: " << org->units.size() << " 个单位 units, " << org->people.size()
              << " 人 people";
  if (n_calendars) std::cout << ", " << n_calendars << " 个工作日历 calendar(s)";
  if (!configs.empty()) std::cout << ", " << configs.size() << " 个服务配置 serve config(s)";
  if (warnings) std::cout << ", " << warnings << " 个警告 warning(s)";
  std::cout << '\n';
  return 0;
}

}  // namespace gridcase::app
