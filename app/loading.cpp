#include "app/loading.hpp"

#include <fstream>
#include <iostream>

#include "connectors/json_events.hpp"

namespace gridcase::app {

std::optional<Engine> load_engine(const std::string& org_path,
                                  const std::vector<std::string>& workflow_paths) {
  Diagnostics diags;
  auto org = load_org_file(org_path, diags);
  std::optional<std::vector<Workflow>> wfs;
  if (org) wfs = load_workflows(workflow_paths, &*org, diags);
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
