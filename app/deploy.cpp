// gridcase deploy / history workflows / diff: versioned workflows in the state directory's
// registry (docs/lifecycle.md).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "app/registry_topic.hpp"
#include "connectors/http/tokens.hpp"
#include "engine/workflow.hpp"
#include "engine/yaml_util.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace fs = std::filesystem;

std::string registry_dir(const std::string& state_dir) {
  return (fs::path(state_dir) / "workflows").string();
}

std::string now_utc() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return format_timestamp(Timestamp{ms - ms % 1000});
}

std::string actor_of(const std::string& given) {
  if (!given.empty()) return given;
  const char* user = std::getenv("USER");
  return user && *user ? user : "unknown";
}

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

struct DiffLine {
  char op;  // ' ', '-', '+'
  std::string text;
};

// A line diff by longest common subsequence (workflow files are small).
std::vector<DiffLine> diff_lines(const std::string& a_text, const std::string& b_text) {
  auto a = split_lines(a_text), b = split_lines(b_text);
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint32_t>> l(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      l[i][j] = a[i] == b[j] ? l[i + 1][j + 1] + 1 : std::max(l[i + 1][j], l[i][j + 1]);
    }
  }
  std::vector<DiffLine> out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out.push_back({' ', a[i]});
      ++i;
      ++j;
    } else if (i < n && (j == m || l[i + 1][j] >= l[i][j + 1])) {
      out.push_back({'-', a[i++]});  // removals before additions, as diff -u shows them
    } else {
      out.push_back({'+', b[j++]});
    }
  }
  return out;
}

// What changed between two versions: line counts and the top-level keys (and states) whose
// content differs.
std::string change_summary(const std::string& old_text, const std::string& new_text) {
  int added = 0, removed = 0;
  for (const auto& d : diff_lines(old_text, new_text)) {
    added += d.op == '+';
    removed += d.op == '-';
  }
  std::vector<std::string> keys;
  try {
    YAML::Node a = YAML::Load(old_text), b = YAML::Load(new_text);
    std::set<std::string> names;
    for (const auto& n : {a, b}) {
      if (!n.IsMap()) continue;
      for (auto it = n.begin(); it != n.end(); ++it) names.insert(it->first.Scalar());
    }
    for (const auto& k : names) {
      if (k == "states" && a[k] && b[k] && a[k].IsMap() && b[k].IsMap()) {
        std::set<std::string> states;
        for (const auto& n : {a[k], b[k]}) {
          for (auto it = n.begin(); it != n.end(); ++it) states.insert(it->first.Scalar());
        }
        for (const auto& s : states) {
          if (YAML::Dump(a[k][s]) != YAML::Dump(b[k][s])) keys.push_back("states." + s);
        }
      } else if (YAML::Dump(a[k]) != YAML::Dump(b[k])) {
        keys.push_back(k);
      }
    }
  } catch (const YAML::Exception&) {
  }
  std::string s = "+" + std::to_string(added) + " -" + std::to_string(removed) + " 行 lines";
  if (!keys.empty()) {
    s += "; 改动 changed: ";
    for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
  }
  return s;
}

// Terminal columns of UTF-8 text: CJK and full-width characters take two.
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    w += len >= 3 ? 2 : 1;  // the 3- and 4-byte forms here are CJK names and symbols
    i += len;
  }
  return w;
}

std::string pad(const std::string& s, size_t w) {
  size_t have = display_width(s);
  return s + std::string(have < w ? w - have : 0, ' ') + " ";
}

// The content hash covers the file and the calendar it uses: either changes deadlines.
std::string content_hash(const std::string& text, const Workflow& wf) {
  std::string data = text;
  if (wf.calendar) {
    std::string cal;
    if (yaml::read_file(wf.calendar->file, cal)) data += "\n--- calendar\n" + cal;
  }
  return http::sha256_hex(data);
}

}  // namespace

DeployReport deploy_files(const std::vector<std::string>& paths, const Org& given_org,
                          const std::string& state_dir, const std::string& actor_name,
                          const OpenCaseCheck& open_cases) {
  DeployReport rep;
  Diagnostics diags;
  struct Candidate {
    std::string file, text;
    Workflow wf;
  };
  std::vector<Candidate> ok;
  std::vector<std::pair<std::string, std::string>> rejected;  // file, why
  auto errors_of = [&diags](const Diagnostics& one) {
    std::string why;
    for (const auto& d : one.all()) {
      diags.error(d.file, d.pos, d.message);
      if (d.severity == Diagnostic::Severity::Error && why.size() < 400) {
        why += (why.empty() ? "" : "; ") + d.format();
      }
    }
    return why;
  };
  // The files, and among them an org tree (kind: Org): deployed with the workflows, which
  // are then checked against it.
  std::vector<std::pair<std::string, std::string>> workflow_files;  // path, text
  std::optional<Org> new_org;
  std::string org_file, org_text;
  for (const auto& path : paths) {
    for (const auto& f : yaml_files(path, diags)) {
      std::string abs = fs::absolute(f).lexically_normal().string();
      std::string text;
      if (!yaml::read_file(abs, text)) {
        diags.error(f, {}, "cannot read file");
        rejected.emplace_back(f, "cannot read file");
        continue;
      }
      std::string kind;
      try {
        YAML::Node n = YAML::Load(text);
        if (n.IsMap() && n["kind"] && n["kind"].IsScalar()) kind = n["kind"].Scalar();
      } catch (const YAML::Exception&) {
      }
      if (kind != "Org") {
        workflow_files.emplace_back(abs, std::move(text));
        continue;
      }
      if (!org_file.empty()) {
        std::string m = "a second org tree in one deploy (the first: " + org_file + ")";
        diags.error(abs, {}, m);
        rejected.emplace_back(abs, m);
        continue;
      }
      Diagnostics one;
      auto o = load_org_text(text, abs, one);
      std::string why = errors_of(one);
      org_file = abs;
      if (!o) {
        rejected.emplace_back(abs, why);
        continue;
      }
      new_org = std::move(o);
      org_text = std::move(text);
    }
  }
  const Org& org = new_org ? *new_org : given_org;
  for (auto& [abs, text] : workflow_files) {
    Diagnostics one;
    auto wf = load_workflow_text(text, abs, &org, one);
    std::string why = errors_of(one);
    if (!wf) {
      rejected.emplace_back(abs, why);
      continue;
    }
    for (const auto& c : ok) {
      if (c.wf.name == wf->name) {
        std::string m = "workflow name '" + wf->name + "' is also deployed from " + c.file;
        diags.error(abs, {}, m);
        rejected.emplace_back(abs, m);
      }
    }
    ok.push_back({abs, std::move(text), std::move(*wf)});
  }
  if (new_org) {
    // Every stored version must still load on the new tree (open cases may run on any),
    // and every open case's units must still be in it.
    std::string why;
    if (WorkflowRegistry::exists(registry_dir(state_dir))) {
      auto reg = WorkflowRegistry::open_read_only(registry_dir(state_dir));
      auto versions =
          reg.ok() ? reg.value()->versions() : Result<std::vector<WorkflowVersion>>(reg.error());
      if (!versions.ok()) {
        why = versions.error().message;
      } else {
        for (const auto& v : versions.value()) {
          bool replaced = std::any_of(ok.begin(), ok.end(), [&](const Candidate& c) {
            return c.wf.name == v.name && c.text == v.text;
          });
          Diagnostics one;
          if (replaced || load_workflow_text(v.text, v.file, &*new_org, one)) continue;
          std::string first = one.all().empty() ? "" : one.all().front().format();
          why = "deployed workflow '" + v.name + "' v" + std::to_string(v.version) +
                " does not load on this org tree: " + first;
          break;
        }
      }
    }
    if (why.empty() && open_cases) {
      auto problems = open_cases(*new_org);
      for (size_t i = 0; i < problems.size() && i < 5; ++i) {
        why += (why.empty() ? "" : "; ") + problems[i];
      }
      if (problems.size() > 5) why += "; ... (" + std::to_string(problems.size()) + " in all)";
    }
    if (!why.empty()) {
      diags.error(org_file, {}, why);
      rejected.emplace_back(org_file, why);
    }
  }
  for (const auto& d : diags.all()) {
    if (d.severity == Diagnostic::Severity::Error) rep.errors.push_back(d.format());
  }
  auto reg = WorkflowRegistry::open(registry_dir(state_dir));
  if (!reg.ok()) {
    rep.errors.push_back(reg.error().message);
    rep.status = 2;
    return rep;
  }
  const std::string at = now_utc();
  const std::string actor = actor_of(actor_name);
  std::vector<AuditRecord> audits;
  if (!rejected.empty() || (ok.empty() && diags.has_errors())) {
    // Nothing is published: every live version stays. The refusal is on record.
    for (const auto& [file, why] : rejected) {
      AuditRecord a;
      a.at = at;
      a.actor = actor;
      a.action = "rejected";
      a.file = file;
      a.change = why;
      audits.push_back(std::move(a));
    }
    if (auto r = reg.value()->record({}, audits); !r.ok()) {
      rep.errors.push_back(r.error().message);
      rep.status = 2;
      return rep;
    }
    rep.errors.push_back(
        "部署被拒绝 / deploy rejected: " + std::to_string(rejected.size()) +
        " 个文件未通过校验 file(s) invalid; 现行版本不变 / live versions unchanged");
    rep.status = 1;
    return rep;
  }
  std::vector<WorkflowVersion> versions;
  for (const auto& c : ok) {
    auto head = reg.value()->head(c.wf.name);
    if (!head.ok()) {
      rep.errors.push_back(head.error().message);
      rep.status = 2;
      return rep;
    }
    std::string hash = content_hash(c.text, c.wf);
    AuditRecord a;
    a.at = at;
    a.actor = actor;
    a.name = c.wf.name;
    a.file = c.file;
    a.hash = hash;
    if (head.value() && head.value()->hash == hash) {
      a.action = "unchanged";
      a.version = head.value()->version;
      a.change = "与现行版本相同 same as the live version";
      rep.lines.push_back("未变化 unchanged: " + c.wf.name + " v" + std::to_string(a.version) +
                          " (" + hash.substr(0, 12) + ")");
    } else {
      WorkflowVersion v;
      v.name = c.wf.name;
      v.version = head.value() ? head.value()->version + 1 : 1;
      v.hash = hash;
      v.file = c.file;
      v.text = c.text;
      v.deployed_at = at;
      v.actor = actor;
      a.action = "deploy";
      a.version = v.version;
      a.change = head.value() ? change_summary(head.value()->text, c.text) : "新增 new";
      rep.lines.push_back("已部署 deployed: " + v.name + " v" + std::to_string(v.version) + " (" +
                          hash.substr(0, 12) + ") " + a.change);
      versions.push_back(std::move(v));
      ++rep.deployed;
    }
    audits.push_back(std::move(a));
  }
  if (new_org) {
    auto head = reg.value()->head(kOrgEntry);
    if (!head.ok()) {
      rep.errors.push_back(head.error().message);
      rep.status = 2;
      return rep;
    }
    std::string hash = http::sha256_hex(org_text);
    AuditRecord a;
    a.at = at;
    a.actor = actor;
    a.name = kOrgEntry;
    a.file = org_file;
    a.hash = hash;
    if (head.value() && head.value()->hash == hash) {
      a.action = "unchanged";
      a.version = head.value()->version;
      a.change = "与现行版本相同 same as the live version";
      rep.lines.push_back("未变化 unchanged: 组织架构 org tree v" + std::to_string(a.version) +
                          " (" + hash.substr(0, 12) + ")");
    } else {
      WorkflowVersion v;
      v.name = kOrgEntry;
      v.version = head.value() ? head.value()->version + 1 : 1;
      v.hash = hash;
      v.file = org_file;
      v.text = org_text;
      v.deployed_at = at;
      v.actor = actor;
      a.action = "deploy";
      a.version = v.version;
      a.change = head.value() ? change_summary(head.value()->text, org_text) : "新增 new";
      rep.lines.push_back("已部署 deployed: 组织架构 org tree v" + std::to_string(v.version) +
                          " (" + hash.substr(0, 12) + ") " + a.change);
      versions.push_back(std::move(v));
      ++rep.deployed;
    }
    audits.push_back(std::move(a));
  }
  if (auto r = reg.value()->record(versions, audits); !r.ok()) {
    rep.errors.push_back(r.error().message);
    rep.status = 2;
  }
  return rep;
}

int run_deploy(const DeployOptions& opt) {
  if (!opt.kafka.empty()) {
    return with_registry_topic(opt.kafka, opt.workflows_topic, true, [&](const std::string& dir) {
      DeployOptions local = opt;
      local.kafka.clear();
      local.state_dir = dir;
      return run_deploy(local);
    });
  }
  Diagnostics diags;
  auto org = load_effective_org(opt.org, opt.state_dir, diags);
  if (!org) {
    for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
    return 2;
  }
  // An org tree that drops a unit where a case is open would strand the case: checked
  // against the engine's state (read-only, so a running engine is no obstacle).
  OpenCaseCheck open_cases = [&opt](const Org& next) {
    std::vector<std::string> problems;
    fs::path dir = opt.state_dir;
    if (fs::is_directory(dir / "engine")) dir /= "engine";
    if (!fs::exists(dir / "CURRENT")) return problems;
    auto engine = load_engine(opt.org, {}, opt.state_dir);
    if (!engine) return problems;
    RocksOptions ro;
    ro.read_only = true;
    auto store = RocksStore::open(dir.string(), *engine, ro);
    if (!store.ok()) return problems;
    const Org& now = engine->org();
    (void)store.value()->for_each_case([&](const Case& c) {
      if (c.closed) return;
      std::vector<UnitIdx> units = {c.grid, c.unit};
      units.insert(units.end(), c.co_handlers.begin(), c.co_handlers.end());
      for (UnitIdx u : units) {
        if (u == kNoUnit) continue;
        const std::string& id = now.units[u].id;
        if (next.find_unit(id) == kNoUnit) {
          problems.push_back("open case '" + c.id + "' is at unit '" + id +
                             "', which this org tree lacks");
          break;
        }
      }
    });
    return problems;
  };
  DeployReport rep = deploy_files(opt.files, *org, opt.state_dir, opt.actor, open_cases);
  for (const auto& l : rep.lines) std::cout << l << '\n';
  for (const auto& e : rep.errors) {
    std::cerr << (rep.status == 2 && e == rep.errors.back() ? "gridcase deploy: " : "") << e
              << '\n';
  }
  return rep.status;
}

int run_history(const HistoryOptions& opt) {
  if (!opt.kafka.empty()) {
    return with_registry_topic(opt.kafka, opt.workflows_topic, false, [&](const std::string& dir) {
      HistoryOptions local = opt;
      local.kafka.clear();
      local.state_dir = dir;
      return run_history(local);
    });
  }
  if (!WorkflowRegistry::exists(registry_dir(opt.state_dir))) {
    std::cerr << "gridcase history: no workflows deployed in " << opt.state_dir << '\n';
    return opt.json ? (std::cout << "[]\n", 0) : 0;
  }
  auto reg = WorkflowRegistry::open(registry_dir(opt.state_dir));
  if (!reg.ok()) {
    std::cerr << "gridcase history: " << reg.error().message << '\n';
    return 2;
  }
  auto h = reg.value()->history();
  if (!h.ok()) {
    std::cerr << "gridcase history: " << h.error().message << '\n';
    return 2;
  }
  if (opt.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : h.value()) {
      out.push_back({{"seq", a.seq},
                     {"at", a.at},
                     {"actor", a.actor},
                     {"action", a.action},
                     {"name", a.name},
                     {"version", a.version},
                     {"hash", a.hash},
                     {"file", a.file},
                     {"change", a.change}});
    }
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"序号 seq", "时间 when", "操作人 who",
                                                 "操作 action", "流程 workflow", "内容哈希 hash",
                                                 "变更 what changed"}};
  for (const auto& a : h.value()) {
    std::string wf = a.name.empty() ? a.file : a.name + " v" + std::to_string(a.version);
    rows.push_back(
        {std::to_string(a.seq), a.at, a.actor, a.action, wf, a.hash.substr(0, 12), a.change});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i + 1 < r.size(); ++i) line += pad(r[i], widths[i]);
    std::cout << line << r.back() << '\n';
  }
  return 0;
}

int run_diff(const DiffOptions& opt) {
  if (!opt.kafka.empty()) {
    return with_registry_topic(opt.kafka, opt.workflows_topic, false, [&](const std::string& dir) {
      DiffOptions local = opt;
      local.kafka.clear();
      local.state_dir = dir;
      return run_diff(local);
    });
  }
  if (!WorkflowRegistry::exists(registry_dir(opt.state_dir))) {
    std::cerr << "gridcase diff: no workflows deployed in " << opt.state_dir << '\n';
    return 2;
  }
  auto reg = WorkflowRegistry::open(registry_dir(opt.state_dir));
  if (!reg.ok()) {
    std::cerr << "gridcase diff: " << reg.error().message << '\n';
    return 2;
  }
  auto a = reg.value()->get(opt.name, opt.v1);
  auto b = reg.value()->get(opt.name, opt.v2);
  if (!a.ok() || !b.ok()) {
    std::cerr << "gridcase diff: " << (!a.ok() ? a.error() : b.error()).message << '\n';
    return 2;
  }
  for (const auto& [v, got] : {std::pair{opt.v1, &a.value()}, std::pair{opt.v2, &b.value()}}) {
    if (!*got) {
      std::cerr << "gridcase diff: 流程 workflow '" << opt.name << "' 没有版本 has no version " << v
                << '\n';
      return 2;
    }
  }
  const WorkflowVersion& x = *a.value();
  const WorkflowVersion& y = *b.value();
  std::cout << "--- " << x.name << " v" << x.version << " (" << x.hash.substr(0, 12) << ", "
            << x.deployed_at << ", " << x.actor << ")\n";
  std::cout << "+++ " << y.name << " v" << y.version << " (" << y.hash.substr(0, 12) << ", "
            << y.deployed_at << ", " << y.actor << ")\n";
  auto lines = diff_lines(x.text, y.text);
  // Changed lines with two lines of context; "@@ line N" before each hunk (new file's line).
  std::vector<bool> show(lines.size(), false);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].op == ' ') continue;
    for (size_t k = i >= 2 ? i - 2 : 0; k < std::min(lines.size(), i + 3); ++k) show[k] = true;
  }
  size_t new_line = 0;
  bool in_hunk = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].op != '-') ++new_line;
    if (!show[i]) {
      in_hunk = false;
      continue;
    }
    if (!in_hunk) std::cout << "@@ line " << new_line << " @@\n";
    in_hunk = true;
    std::cout << lines[i].op << lines[i].text << '\n';
  }
  return 0;
}

}  // namespace gridcase::app
