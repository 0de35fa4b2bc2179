#include "engine/workflow.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <functional>
#include <set>

#include "engine/yaml_util.hpp"

namespace gridcase {

namespace {
// Walks `src` to the code point at (line, col), then looks it up in the map.
SourcePos locate_in(const std::string& src, const std::vector<SourcePos>& map, SourcePos rel) {
  int line = 1, col = 1;
  size_t cp = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    if ((static_cast<unsigned char>(src[i]) & 0xC0) == 0x80) continue;
    if (line == rel.line && col == rel.col) break;
    if (src[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    ++cp;
  }
  return cp < map.size() ? map[cp] : map.back();
}
}  // namespace

SourcePos Expr::locate(SourcePos rel) const {
  if (rel.line <= 0) return pos_;
  if (!map_) return rel;
  return locate_in(program_.source(), *map_, rel);
}

Result<Value> Expr::eval(const expr::Env& env) const {
  auto r = program_.eval(env);
  if (r.ok() || !map_) return r;
  return Error{r.error().message, locate(r.error().pos)};
}

Result<bool> Expr::eval_bool(const expr::Env& env) const {
  auto r = program_.eval_bool(env);
  if (r.ok() || !map_) return r;
  return Error{r.error().message, locate(r.error().pos)};
}

int Workflow::state_index(std::string_view n) const {
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i].name == n) return static_cast<int>(i);
  }
  return -1;
}

int Workflow::var_index(std::string_view n) const {
  for (size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].first == n) return static_cast<int>(i);
  }
  return -1;
}

int Workflow::level_index(std::string_view n) const {
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == n) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> case_field_names(const std::vector<std::pair<std::string, Value>>& vars) {
  std::vector<std::string> out = {"id",           "state",     "level",       "unit",
                                  "report_count", "opened_at", "level_since", "co_handlers",
                                  "grid",         "workflow",  "closed"};
  for (const auto& v : vars) out.push_back(v.first);
  return out;
}

const std::vector<std::string> kEventFields = {
    "type", "at", "actor", "note", "report", "data", "actor_unit", "action_id", "case_id", "grid"};

namespace {

const std::set<std::string, std::less<>> kReservedTimerEvents = {"opened", "report", "sla_warning",
                                                                 "sla_expired"};

bool is_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// A YAML scalar as a literal value: quoted scalars are strings; plain ones may be null,
// booleans, integers or decimals.
Value scalar_value(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return Value(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digits = i < s.size(), dot = false, exp = false;
  for (size_t j = i; j < s.size() && digits; ++j) {
    char c = s[j];
    if (c >= '0' && c <= '9') continue;
    if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && !exp && j > i) {
      exp = true;
      if (j + 1 < s.size() && (s[j + 1] == '-' || s[j + 1] == '+')) ++j;
    } else {
      digits = false;
    }
  }
  if (digits && !dot && !exp) {
    int64_t v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return Value(v);
    return Value(s);  // out of range for 64 bits: kept as text
  }
  if (digits && (dot || exp)) {
    try {
      return Value(std::stod(s));
    } catch (...) {
      return Value(s);
    }
  }
  return Value(s);
}

struct Loader {
  const std::string& file;
  std::string_view text;
  const Org* org;
  Diagnostics& diags;
  Workflow wf;
  expr::CompileOptions copts;
  std::vector<std::pair<const YAML::Node, std::string>> gotos;  // resolved after states
  bool calendar_failed = false;  // `calendar:` given but not loaded (reported there)

  void error(const YAML::Node& n, std::string msg) {
    diags.error(file, yaml::pos_of(n), std::move(msg));
  }

  std::optional<Expr> compile(const YAML::Node& n, std::string_view what, size_t skip = 0) {
    if (!n.IsScalar()) {
      error(n, std::string(what) + " must be an expression string");
      return std::nullopt;
    }
    std::string src = n.Scalar().substr(skip);
    std::shared_ptr<const std::vector<SourcePos>> map;
    SourcePos start = yaml::text_pos(n, text);
    std::vector<SourcePos> full = yaml::scalar_map(n);
    if (!full.empty()) {
      size_t skip_cp = 0;  // code points of the skipped prefix ('=')
      for (size_t k = 0; k < skip && k < n.Scalar().size(); ++k) {
        skip_cp += (static_cast<unsigned char>(n.Scalar()[k]) & 0xC0) != 0x80;
      }
      if (skip_cp < full.size()) {
        map = std::make_shared<const std::vector<SourcePos>>(
            full.begin() + static_cast<long>(skip_cp), full.end());
        start = map->front();
      }
    } else {
      start.col += static_cast<int>(skip);
    }
    // With a map, positions come out relative to the source (1:1) and are mapped back.
    auto r = expr::compile(src, map ? SourcePos{1, 1} : start, copts);
    if (!r.ok()) {
      SourcePos at = r.error().pos.line <= 0 ? start
                     : map                   ? locate_in(src, *map, r.error().pos)
                                             : r.error().pos;
      diags.error(file, at, std::string(what) + ": " + r.error().message);
      return std::nullopt;
    }
    return Expr(std::move(r).value(), std::move(map), start);
  }

  std::optional<Duration> duration(const YAML::Node& n, std::string_view what) {
    auto s = yaml::get_string(n, file, what, diags);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d.ok()) {
      error(n, std::string(what) + ": " + d.error().message);
      return std::nullopt;
    }
    if (d->ms <= 0) {
      error(n, std::string(what) + " must be longer than zero");
      return std::nullopt;
    }
    return *d;
  }

  void load_top(const YAML::Node& root) {
    if (!root.IsMap()) {
      diags.error(file, yaml::doc_pos(root),
                  "a workflow file must be a mapping (apiVersion, kind, name, ...)");
      return;
    }
    yaml::check_keys(root,
                     {"apiVersion", "kind", "name", "description", "match", "priority", "levels",
                      "sla", "sla_warning", "correlate", "vars", "initial", "states", "calendar"},
                     file, "the workflow", diags);
    for (const char* req : {"apiVersion", "kind", "name", "levels", "initial", "states"}) {
      if (!root[req])
        diags.error(file, yaml::pos_of(root), std::string("missing required key '") + req + "'");
    }
    if (root["apiVersion"] &&
        (!root["apiVersion"].IsScalar() || root["apiVersion"].Scalar() != "gridcase/v1")) {
      error(root["apiVersion"], "apiVersion must be gridcase/v1");
    }
    if (root["kind"] && (!root["kind"].IsScalar() || root["kind"].Scalar() != "Workflow")) {
      error(root["kind"], "kind must be Workflow here");
    }
    if (root["name"]) {
      if (auto s = yaml::get_string(root["name"], file, "name", diags)) {
        wf.name = *s;
        wf.name_pos = yaml::pos_of(root["name"]);
        if (!is_name(*s)) error(root["name"], "name must match [a-z0-9-]+");
      }
    }
    if (root["description"]) {
      if (auto s = yaml::get_string(root["description"], file, "description", diags))
        wf.description = *s;
    }
    if (root["priority"]) {
      if (auto v = yaml::get_int(root["priority"], file, "priority", diags)) wf.priority = *v;
    }
    load_levels(root["levels"]);
    load_vars(root["vars"]);
    copts.case_fields = case_field_names(wf.vars);
    copts.event_fields = kEventFields;
    if (org) copts.levels = org->levels;
    if (root["match"]) wf.match = compile(root["match"], "match");
    if (root["calendar"]) load_calendar(root["calendar"]);
    load_sla(root["sla"], root["sla_warning"]);
    load_correlate(root["correlate"]);
    load_states(root["states"]);
    if (root["initial"]) {
      if (auto s = yaml::get_string(root["initial"], file, "initial", diags)) {
        wf.initial = wf.state_index(*s);
        if (wf.initial < 0) {
          error(root["initial"], "initial state '" + *s + "' is not among the states");
          wf.initial = 0;
        } else if (wf.states[wf.initial].final) {
          error(root["initial"], "the initial state '" + *s + "' may not be final");
        }
      }
    }
  }

  void load_levels(const YAML::Node& lv) {
    if (!lv) return;
    if (!lv.IsSequence() || lv.size() == 0) {
      error(lv, "levels must be a non-empty list, lowest first");
      return;
    }
    int last_org = -1;
    for (const auto& l : lv) {
      auto s = yaml::get_string(l, file, "a level", diags);
      if (!s) continue;
      if (wf.level_index(*s) >= 0) error(l, "duplicate level '" + *s + "'");
      int o = static_cast<int>(wf.levels.size());
      if (org) {
        o = org->level_index(*s);
        if (o < 0) {
          error(l,
                "unknown level '" + *s + "' (the org tree's levels are " + join(org->levels) + ")");
        } else if (o <= last_org) {
          error(l, "level '" + *s + "' is out of order: levels must follow the org tree's order (" +
                       join(org->levels) + ")");
        }
        last_org = std::max(last_org, o);
      }
      wf.levels.push_back(*s);
      wf.level_org.push_back(o);
    }
    wf.sla.assign(wf.levels.size(), std::nullopt);
    wf.sla_working.assign(wf.levels.size(), std::nullopt);
  }

  // `calendar: FILE` or `calendar: {file: FILE, except: EXPR}`; FILE relative to this file.
  void load_calendar(const YAML::Node& c) {
    if (c.IsMap()) {
      yaml::check_keys(c, {"file", "except"}, file, "calendar", diags);
      if (!c["file"]) {
        error(c, "calendar needs 'file' (a calendar YAML file, kind: Calendar)");
        return;
      }
      if (c["except"]) wf.calendar_except = compile(c["except"], "calendar.except");
    }
    // Not assigned later: assigning a YAML::Node writes through to the node it refers to.
    const YAML::Node path_node = c.IsMap() ? c["file"] : c;
    auto p = yaml::get_string(path_node, file, "calendar file", diags);
    calendar_failed = true;
    if (!p) return;
    std::filesystem::path path(*p);
    if (path.is_relative()) path = std::filesystem::path(file).parent_path() / path;
    std::string resolved = path.lexically_normal().string();
    Diagnostics cal_diags;
    auto cal = load_calendar_file(resolved, cal_diags);
    for (const auto& d : cal_diags.all()) {
      if (d.severity == Diagnostic::Severity::Error) diags.error(d.file, d.pos, d.message);
    }
    if (!cal) {
      error(path_node, "calendar '" + *p + "' (" + resolved + ") could not be loaded");
      return;
    }
    wf.calendar = std::make_shared<const Calendar>(std::move(*cal));
    calendar_failed = false;
  }

  // An SLA period: a duration ("24h"), or working time: "4h working", "2d working" (a
  // working day is the calendar's working hours of one day), "2 working days",
  // "4 working hours", "30 working minutes", "2个工作日", "4个工作小时".
  void sla_period(const YAML::Node& n, int level, const std::string& what) {
    auto s = yaml::get_string(n, file, what, diags);
    if (!s) return;
    std::string t = *s;
    int64_t days = 0, rest = 0;
    auto strip = [&](std::string_view suffix) {
      if (t.size() > suffix.size() &&
          t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
        t.resize(t.size() - suffix.size());
        while (!t.empty() && t.back() == ' ') t.pop_back();
        return true;
      }
      return false;
    };
    auto count = [&](int64_t* out) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return false;
      if (v > 1000000) return false;  // no overflow below: over a century of hours
      *out = v;
      return true;
    };
    int64_t n_units = 0;
    if (strip("working days") || strip("working day") || strip("个工作日") || strip("工作日")) {
      if (!count(&n_units))
        return error(n, what + ": expected a number of working days, like 2 working days");
      days = n_units;
    } else if (strip("working hours") || strip("working hour") || strip("个工作小时") ||
               strip("工作小时")) {
      if (!count(&n_units))
        return error(n, what + ": expected a number of working hours, like 4 working hours");
      rest = n_units * 3600 * 1000;
    } else if (strip("working minutes") || strip("working minute")) {
      if (!count(&n_units)) return error(n, what + ": expected a number of working minutes");
      rest = n_units * 60 * 1000;
    } else if (strip("working")) {
      size_t d = t.find('d');
      std::string dpart = d == std::string::npos ? "" : t.substr(0, d + 1);
      std::string hpart = d == std::string::npos ? t : t.substr(d + 1);
      if (!dpart.empty()) {
        auto r = parse_duration(dpart);
        if (!r.ok()) return error(n, what + ": " + r.error().message);
        days = r->ms / (24 * 3600 * 1000);
      }
      if (!hpart.empty()) {
        auto r = parse_duration(hpart);
        if (!r.ok() || hpart.find('d') != std::string::npos)
          return error(n, what + ": " + (r.ok() ? std::string("bad duration") : r.error().message));
        rest = r->ms;
      }
    } else {
      if (auto d = duration(n, what)) wf.sla[level] = *d;
      return;
    }
    if (!wf.calendar) {
      if (calendar_failed) return;  // already reported where the calendar is named
      return error(n, what +
                          ": a working-time SLA needs a calendar (calendar: FILE at the top "
                          "of the workflow)");
    }
    int64_t ms = days * wf.calendar->day_ms() + rest;
    if (ms <= 0) return error(n, what + " must be longer than zero");
    wf.sla[level] = Duration{days * 24 * 3600 * 1000 + rest};
    wf.sla_working[level] = Duration{ms};
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  void load_vars(const YAML::Node& vs) {
    if (!vs) return;
    if (!vs.IsMap()) {
      error(vs, "vars must be a mapping of name: initial value");
      return;
    }
    std::set<std::string> seen;
    for (auto it = vs.begin(); it != vs.end(); ++it) {
      std::string name = it->first.Scalar();
      if (!seen.insert(name).second) error(it->first, "duplicate var '" + name + "'");
      for (const auto& builtin : case_field_names({})) {
        if (builtin == name)
          error(it->first, "var '" + name + "' clashes with the built-in case." + name);
      }
      wf.vars.emplace_back(name, literal(it->second));
    }
  }

  Value literal(const YAML::Node& n) {
    if (n.IsScalar()) return scalar_value(n);
    if (n.IsNull()) return Value();
    if (n.IsSequence()) {
      List l;
      for (const auto& x : n) l.push_back(literal(x));
      return Value(std::move(l));
    }
    Map m;
    for (auto it = n.begin(); it != n.end(); ++it) m[it->first.Scalar()] = literal(it->second);
    return Value(std::move(m));
  }

  void load_sla(const YAML::Node& sla, const YAML::Node& warn) {
    if (sla) {
      if (!sla.IsMap()) {
        error(sla, "sla must be a mapping of level: duration");
      } else {
        for (auto it = sla.begin(); it != sla.end(); ++it) {
          std::string lv = it->first.Scalar();
          int i = wf.level_index(lv);
          if (i < 0) {
            error(it->first,
                  "unknown level '" + lv + "' in sla (levels are " + join(wf.levels) + ")");
            continue;
          }
          sla_period(it->second, i, "sla." + lv);
        }
      }
    }
    if (warn) {
      auto s = yaml::get_string(warn, file, "sla_warning", diags);
      if (!s) return;
      // Exactly [0-9]+(.[0-9]{1,4})?%, kept as parts per million so the warning time is exact.
      int64_t ppm = -1;
      std::string_view t = *s;
      if (t.size() >= 2 && t.back() == '%') {
        t.remove_suffix(1);
        size_t dot = t.find('.');
        std::string_view whole = t.substr(0, dot);
        std::string_view frac =
            dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
        auto digits = [](std::string_view d) {
          return !d.empty() &&
                 std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
        };
        if (digits(whole) && whole.size() <= 3 &&
            (dot == std::string_view::npos || (digits(frac) && frac.size() <= 4))) {
          ppm = std::stoll(std::string(whole)) * 10000;
          int64_t scale = 1000;
          for (char c : frac) {
            ppm += (c - '0') * scale;
            scale /= 10;
          }
        }
      }
      if (!(ppm > 0 && ppm < 1000000)) {
        error(warn,
              "sla_warning must be a percentage between 0% and 100% exclusive, like 80% or 12.5%");
      } else {
        wf.sla_warning_ppm = ppm;
        wf.sla_warning = static_cast<double>(ppm) / 1e6;
      }
    }
  }

  void load_correlate(const YAML::Node& c) {
    if (!c) return;
    if (!c.IsMap()) {
      error(c, "correlate must be a mapping with key and window");
      return;
    }
    yaml::check_keys(c, {"key", "window"}, file, "correlate", diags);
    if (!c["key"] || !c["window"]) {
      error(c, "correlate needs both 'key' and 'window'");
      return;
    }
    // In correlate.key, `report` is the report being routed; there is no case yet.
    wf.correlate_key = compile(c["key"], "correlate.key");
    if (auto d = duration(c["window"], "correlate.window")) wf.correlate_window = *d;
  }

  void load_states(const YAML::Node& ss) {
    if (!ss) return;
    if (!ss.IsMap() || ss.size() == 0) {
      error(ss, "states must be a non-empty mapping of state name: state");
      return;
    }
    // Names first, so gotos can refer forward.
    std::set<std::string> seen;
    for (auto it = ss.begin(); it != ss.end(); ++it) {
      State st;
      st.name = it->first.Scalar();
      st.pos = yaml::pos_of(it->first);
      if (!seen.insert(st.name).second) error(it->first, "duplicate state '" + st.name + "'");
      wf.states.push_back(std::move(st));
    }
    size_t i = 0;
    for (auto it = ss.begin(); it != ss.end(); ++it, ++i) load_state(wf.states[i], it->second);
  }

  void load_state(State& st, const YAML::Node& n) {
    if (n.IsNull()) {
      error(n, "state '" + st.name + "' is empty: give it on:, or final: true");
      return;
    }
    if (!n.IsMap()) {
      error(n, "state '" + st.name + "' must be a mapping");
      return;
    }
    yaml::check_keys(n, {"on", "sla", "timers", "final"}, file, "state '" + st.name + "'", diags);
    if (n["final"]) {
      if (auto b = yaml::get_bool(n["final"], file, "final", diags)) st.final = *b;
    }
    if (n["sla"]) {
      if (auto b = yaml::get_bool(n["sla"], file, "sla", diags)) st.sla = *b;
    }
    if (st.final && n["on"]) error(n["on"], "final state '" + st.name + "' may not have on:");
    if (st.final && n["timers"])
      error(n["timers"], "final state '" + st.name + "' may not have timers");
    if (st.final && st.sla)
      error(n["sla"], "final state '" + st.name + "' may not have an SLA clock");
    if (YAML::Node ts = n["timers"]) load_timers(st, ts);
    if (YAML::Node on = n["on"]) {
      if (!on.IsMap()) {
        error(on, "on: must be a mapping of event type: transition(s)");
        return;
      }
      for (auto it = on.begin(); it != on.end(); ++it) {
        std::string ev = it->first.Scalar();
        std::vector<Transition> list;
        YAML::Node body = it->second;
        if (body.IsSequence()) {
          if (body.size() == 0) error(body, "an empty list of transitions for '" + ev + "'");
          for (const auto& t : body) list.push_back(load_transition(t, ev));
        } else {
          list.push_back(load_transition(body, ev));
        }
        st.on.emplace_back(std::move(ev), std::move(list));
      }
    }
    for (const TimerSpec& t : st.timers) {
      if (!st.find(t.event)) {
        diags.warning(file, st.pos,
                      "state '" + st.name + "' has a timer for '" + t.event +
                          "' but no transition for it: every firing will be rejected");
      }
    }
  }

  void load_timers(State& st, const YAML::Node& ts) {
    if (!ts.IsSequence()) {
      error(ts, "timers must be a list of {after, event, repeat}");
      return;
    }
    for (const auto& t : ts) {
      if (!t.IsMap()) {
        error(t, "a timer must be a mapping {after, event, repeat}");
        continue;
      }
      yaml::check_keys(t, {"after", "event", "repeat"}, file, "timer", diags);
      TimerSpec spec;
      if (!t["after"] || !t["event"]) {
        error(t, "a timer needs 'after' and 'event'");
        continue;
      }
      if (auto d = duration(t["after"], "timer after")) spec.after = *d;
      if (auto s = yaml::get_string(t["event"], file, "timer event", diags)) {
        spec.event = *s;
        if (kReservedTimerEvents.count(*s)) {
          error(t["event"], "timer event may not be '" + *s + "' (reserved)");
        }
        if (s->empty()) error(t["event"], "timer event must not be empty");
      }
      if (t["repeat"]) {
        if (auto b = yaml::get_bool(t["repeat"], file, "repeat", diags)) spec.repeat = *b;
      }
      st.timers.push_back(spec);
    }
  }

  Transition load_transition(const YAML::Node& n, const std::string& ev) {
    Transition tr;
    tr.where = {file, yaml::pos_of(n)};
    if (n.IsNull()) return tr;  // `event: {}` style: always applies, does nothing but record
    if (!n.IsMap()) {
      error(n, "a transition for '" + ev +
                   "' must be a mapping (when, by, set, level, co_handle, notify, goto)");
      return tr;
    }
    yaml::check_keys(n, {"when", "by", "set", "level", "co_handle", "notify", "goto"}, file,
                     "transition", diags);
    if (n["when"]) tr.when = compile(n["when"], "when");
    if (YAML::Node by = n["by"]) {
      tr.by = 0;
      auto add = [&](const YAML::Node& x) {
        auto s = yaml::get_string(x, file, "by", diags);
        if (!s) return;
        if (*s == "assignee")
          tr.by |= kByAssignee;
        else if (*s == "supervisor")
          tr.by |= kBySupervisor;
        else if (*s == "co_handler")
          tr.by |= kByCoHandler;
        else if (*s == "any")
          tr.by |= kByAny;
        else
          error(x, "unknown by '" + *s + "' (assignee, supervisor, co_handler or any)");
      };
      if (by.IsSequence()) {
        for (const auto& x : by) add(x);
      } else {
        add(by);
      }
      if (tr.by == 0) tr.by = kByAny;
    }
    if (YAML::Node set = n["set"]) {
      if (!set.IsMap()) {
        error(set, "set must be a mapping of var: value");
      } else {
        for (auto it = set.begin(); it != set.end(); ++it) {
          SetOp op;
          std::string var = it->first.Scalar();
          op.var = wf.var_index(var);
          if (op.var < 0) {
            error(it->first, "set of undeclared var '" + var + "' (declare it under vars:)");
            continue;
          }
          YAML::Node v = it->second;
          if (v.IsScalar() && !v.Scalar().empty() && v.Scalar()[0] == '=') {
            op.expr = compile(v, "set " + var, 1);
            if (!op.expr) continue;
          } else {
            op.literal = literal(v);
          }
          tr.set.push_back(std::move(op));
        }
      }
    }
    if (YAML::Node lv = n["level"]) {
      if (auto s = yaml::get_string(lv, file, "level", diags)) {
        if (*s == "up")
          tr.level = LevelMove::Up;
        else if (*s == "down")
          tr.level = LevelMove::Down;
        else if (*s == "top")
          tr.level = LevelMove::Top;
        else {
          tr.level = LevelMove::Named;
          tr.level_to = wf.level_index(*s);
          if (tr.level_to < 0) {
            error(lv,
                  "unknown level '" + *s + "' (up, down, top or one of " + join(wf.levels) + ")");
            tr.level = LevelMove::None;
          }
        }
      }
    }
    if (n["co_handle"]) {
      if (n["co_handle"].IsScalar() && !n["co_handle"].Scalar().empty() &&
          n["co_handle"].Scalar()[0] == '=') {
        error(n["co_handle"], "co_handle is an expression already: write it without '='");
      } else {
        tr.co_handle = compile(n["co_handle"], "co_handle");
      }
    }
    if (YAML::Node nt = n["notify"]) {
      if (!nt.IsSequence()) {
        error(nt, "notify must be a list of targets");
      } else {
        for (const auto& x : nt) {
          auto s = yaml::get_string(x, file, "notify target", diags);
          if (!s) continue;
          NotifyTarget t;
          if (*s == "assignee") {
            t.kind = NotifyTarget::Kind::Assignee;
          } else if (*s == "co_handlers") {
            t.kind = NotifyTarget::Kind::CoHandlers;
          } else if (s->rfind("unit:", 0) == 0) {
            t.kind = NotifyTarget::Kind::Unit;
            t.unit_id = s->substr(5);
            if (org && org->find_unit(t.unit_id) == kNoUnit) {
              error(x, "unknown unit '" + t.unit_id + "' in notify");
            }
          } else {
            t.kind = NotifyTarget::Kind::Level;
            if (org) {
              t.org_level = org->level_index(*s);
            } else {
              int wl = wf.level_index(*s);
              t.org_level = wl < 0 ? -1 : wf.level_org[wl];
            }
            if (t.org_level < 0) {
              error(x, "unknown notify target '" + *s +
                           "' (a level name, assignee, co_handlers or unit:ID)");
            }
          }
          tr.notify.push_back(std::move(t));
        }
      }
    }
    if (YAML::Node g = n["goto"]) {
      if (auto s = yaml::get_string(g, file, "goto", diags)) {
        tr.goto_state = wf.state_index(*s);
        if (tr.goto_state < 0) error(g, "goto to unknown state '" + *s + "'");
      }
    }
    return tr;
  }

  void check_graph() {
    if (wf.states.empty()) return;
    size_t n = wf.states.size();
    std::vector<std::vector<int>> next(n);
    for (size_t i = 0; i < n; ++i) {
      for (const auto& [ev, ts] : wf.states[i].on) {
        for (const auto& t : ts) {
          if (t.goto_state >= 0) next[i].push_back(t.goto_state);
        }
      }
    }
    std::vector<bool> reach(n, false);
    std::function<void(int)> dfs = [&](int s) {
      if (reach[s]) return;
      reach[s] = true;
      for (int t : next[s]) dfs(t);
    };
    dfs(wf.initial);
    for (size_t i = 0; i < n; ++i) {
      if (!reach[i]) {
        diags.warning(file, wf.states[i].pos,
                      "state '" + wf.states[i].name + "' is unreachable from '" +
                          wf.states[wf.initial].name + "'");
      }
    }
    // States from which no final state can be reached.
    std::vector<bool> ends(n, false);
    bool changed = true;
    for (size_t i = 0; i < n; ++i) ends[i] = wf.states[i].final;
    while (changed) {
      changed = false;
      for (size_t i = 0; i < n; ++i) {
        if (ends[i]) continue;
        for (int t : next[i]) {
          if (ends[t]) {
            ends[i] = changed = true;
            break;
          }
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (reach[i] && !ends[i]) {
        diags.warning(file, wf.states[i].pos,
                      "no final state can be reached from state '" + wf.states[i].name + "'");
      }
    }
  }
};

}  // namespace

void warn_shadowed(const std::vector<Workflow>& workflows, Diagnostics& diags) {
  // Ranked as the engine picks (priority, then name): one that matches every report takes
  // every report from those ranked below it.
  auto outranks = [](const Workflow& a, const Workflow& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  };
  for (const Workflow& low : workflows) {
    const Workflow* first = nullptr;  // the best-ranked of those above it: the one picked
    for (const Workflow& high : workflows) {
      if (&high != &low && high.name != low.name && high.matches_every_report &&
          outranks(high, low) && (!first || outranks(high, *first))) {
        first = &high;
      }
    }
    if (first) {
      diags.warning(low.file, low.name_pos,
                    "this workflow can never match: workflow '" + first->name + "' (priority " +
                        std::to_string(first->priority) + ", " + first->file +
                        ") matches every report first");
    }
  }
}

std::optional<Workflow> load_workflow_text(std::string_view text, const std::string& file,
                                           const Org* org, Diagnostics& diags) {
  int before = diags.error_count();
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM is no column
  if (!yaml::check_utf8(text, file, diags)) return std::nullopt;
  yaml::TextScope scope(text);
  auto root = yaml::parse(text, file, diags);
  if (!root) return std::nullopt;
  Loader l{file, text, org, diags, {}, {}, {}, false};
  l.wf.file = file;
  l.load_top(*root);
  if (diags.error_count() > before) return std::nullopt;
  l.check_graph();
  l.wf.matches_every_report = !l.wf.match;
  if (l.wf.match) {
    struct Probe : expr::Env {
      mutable bool touched = false;
      std::optional<Value> field(expr::Root, std::string_view) const override {
        touched = true;
        return std::nullopt;
      }
      Value whole(expr::Root) const override {
        touched = true;
        return Value();
      }
      Timestamp now() const override {
        touched = true;
        return {};
      }
      Value unit_at(std::string_view) const override {
        touched = true;
        return Value();
      }
    } probe;
    auto r = l.wf.match->eval_bool(probe);
    if (!probe.touched && (!r.ok() || !r.value())) {
      diags.warning(file, yaml::pos_of((*root)["match"]),
                    "this workflow can never match: its match is always false");
    }
    l.wf.matches_every_report = !probe.touched && r.ok() && r.value();
  }
  return std::move(l.wf);
}

std::optional<Workflow> load_workflow_file(const std::string& path, const Org* org,
                                           Diagnostics& diags) {
  std::string text;
  if (!yaml::read_file(path, text)) {
    diags.error(path, {}, "cannot read file");
    return std::nullopt;
  }
  return load_workflow_text(text, path, org, diags);
}

std::vector<std::string> yaml_files(const std::string& path, Diagnostics& diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> out;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml"))
        out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
  } else if (fs::exists(path, ec)) {
    out.push_back(path);
  } else {
    diags.error(path, {}, "no such file or directory");
  }
  return out;
}

std::optional<std::vector<Workflow>> load_workflows(const std::vector<std::string>& paths,
                                                    const Org* org, Diagnostics& diags) {
  int before = diags.error_count();
  std::vector<Workflow> out;
  for (const auto& p : paths) {
    for (const auto& f : yaml_files(p, diags)) {
      if (auto wf = load_workflow_file(f, org, diags)) out.push_back(std::move(*wf));
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out[i].name == out[j].name) {
        diags.error(out[i].file, out[i].name_pos,
                    "workflow name '" + out[i].name + "' is also used by " + out[j].file);
      }
    }
  }
  warn_shadowed(out, diags);
  if (out.empty() && diags.error_count() == before) {
    diags.error(paths.empty() ? "workflows" : paths[0], {}, "no workflow files found");
  }
  if (diags.error_count() > before) return std::nullopt;
  return out;
}

}  // namespace gridcase
