#include "app/loading.hpp"

#include <fstream>
#include <iostream>

#include "app/commands.hpp"
#include "connectors/json_events.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace {

// Every deployed version; nullopt (and a message) if one no longer loads; an empty list if
// nothing was deployed.
std::optional<std::vector<Workflow>> load_deployed(const std::string& state_dir, const Org& org,
                                                   Diagnostics& diags) {
  std::vector<Workflow> out;
  std::string dir = registry_dir(state_dir);
  if (!WorkflowRegistry::exists(dir)) return out;
  // Read-only: takes no lock, so a deploy running meanwhile is no obstacle.
  auto reg = WorkflowRegistry::open_read_only(dir);
  if (!reg.ok()) {
    diags.error(dir, {}, reg.error().message);
    return std::nullopt;
  }
  auto versions = reg.value()->versions();
  if (!versions.ok()) {
    diags.error(dir, {}, versions.error().message);
    return std::nullopt;
  }
  for (const auto& v : versions.value()) {
    auto wf = load_workflow_text(v.text, v.file, &org, diags);
    if (!wf) {
      diags.error(v.file, {},
                  "deployed workflow '" + v.name + "' v" + std::to_string(v.version) +
                      " no longer loads (its calendar or the org tree changed?)");
      return std::nullopt;
    }
    wf->version = v.version;
    wf->hash = v.hash;
    out.push_back(std::move(*wf));
  }
  return out;
}

}  // namespace

std::optional<Org> load_effective_org(const std::string& org_path,
                                      const std::optional<std::string>& state_dir,
                                      Diagnostics& diags, int64_t* version) {
  if (version) *version = 0;
  if (state_dir && WorkflowRegistry::exists(registry_dir(*state_dir))) {
    auto reg = WorkflowRegistry::open_read_only(registry_dir(*state_dir));
    if (!reg.ok()) {
      diags.error(registry_dir(*state_dir), {}, reg.error().message);
      return std::nullopt;
    }
    auto head = reg.value()->head(kOrgEntry);
    if (!head.ok()) {
      diags.error(registry_dir(*state_dir), {}, head.error().message);
      return std::nullopt;
    }
    if (head.value()) {
      if (version) *version = head.value()->version;
      std::cerr << "说明 note: 使用已部署的组织架构 v" << head.value()->version
                << " / running the deployed org tree v" << head.value()->version << ", not "
                << org_path << '\n';
      return load_org_text(head.value()->text, head.value()->file, diags);
    }
  }
  return load_org_file(org_path, diags);
}

std::optional<Engine> load_engine(const std::string& org_path,
                                  const std::vector<std::string>& workflow_paths,
                                  const std::optional<std::string>& state_dir,
                                  int64_t* org_version) {
  Diagnostics diags;
  auto org = load_effective_org(org_path, state_dir, diags, org_version);
  std::optional<std::vector<Workflow>> wfs;
  if (org && state_dir) {
    wfs = load_deployed(*state_dir, *org, diags);
    if (!wfs) {
      org.reset();  // a deployed version no longer loads: stop, as for an invalid file
    } else if (wfs->empty()) {
      wfs.reset();  // nothing deployed: the files, as before versions
    } else {
      std::cerr << "说明 note: 使用 " << registry_dir(*state_dir) << " 中已部署的 " << wfs->size()
                << " 个流程版本 / running the deployed workflow versions, not --workflows\n";
    }
  }
  if (org && !wfs) wfs = load_workflows(workflow_paths, &*org, diags);
  for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
  if (!org || !wfs) return std::nullopt;
  return Engine(std::make_shared<const Org>(std::move(*org)), std::move(*wfs));
}

Result<bool> write_cases(const std::string& path, const Engine& engine, CaseStore& store) {
  std::vector<json::CaseSummary> out;
  const Org& org = engine.org();
  auto r = store.for_each_case([&](const Case& c) {
    const Workflow& wf = engine.workflows()[c.workflow];
    json::CaseSummary s;
    s.case_id = c.id;
    s.workflow = wf.name;
    s.state = wf.states[c.state].name;
    s.level = wf.levels[c.level];
    s.unit = c.unit == kNoUnit ? "" : org.units[c.unit].id;
    s.closed = c.closed;
    s.report_count = c.report_count;
    for (UnitIdx u : c.co_handlers) s.co_handlers.push_back(org.units[u].id);
    for (size_t i = 0; i < c.vars.size(); ++i) s.vars.emplace_back(wf.vars[i].first, c.vars[i]);
    out.push_back(std::move(s));
  });
  if (!r.ok()) return r;
  std::string text = json::case_snapshot(out) + "\n";
  if (path == "-") {
    std::cout << text;
    return true;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return err("cannot write file");
  f << text;
  if (!f.flush()) return err("write failed");
  return true;
}

}  // namespace gridcase::app
