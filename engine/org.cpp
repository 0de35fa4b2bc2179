#include "engine/org.hpp"

#include <functional>

#include "engine/yaml_util.hpp"

namespace gridcase {

void Org::index() {
  unit_by_id_.clear();
  person_by_id_.clear();
  grids_.clear();
  for (size_t i = 0; i < units.size(); ++i) {
    unit_by_id_.emplace(units[i].id, static_cast<UnitIdx>(i));
    units[i].children.clear();
  }
  for (size_t i = 0; i < units.size(); ++i) {
    if (units[i].parent != kNoUnit)
      units[units[i].parent].children.push_back(static_cast<UnitIdx>(i));
    if (units[i].level == 0) grids_.push_back(static_cast<UnitIdx>(i));
  }
  for (size_t i = 0; i < people.size(); ++i) {
    people[i].unit_idx = find_unit(people[i].unit);
    person_by_id_.emplace(people[i].id, i);
  }
}

UnitIdx Org::find_unit(std::string_view id) const {
  auto it = unit_by_id_.find(std::string(id));
  return it == unit_by_id_.end() ? kNoUnit : it->second;
}

int Org::level_index(std::string_view level) const {
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

UnitIdx Org::ancestor_at(UnitIdx unit, int level) const {
  // Units up the chain have strictly rising levels, so the first at or above `level` is it.
  for (UnitIdx u = unit; u != kNoUnit; u = units[u].parent) {
    if (units[u].level >= level) return u;
  }
  return kNoUnit;
}

bool Org::in_subtree(UnitIdx unit, UnitIdx root) const {
  if (root == kNoUnit) return false;
  for (UnitIdx u = unit; u != kNoUnit; u = units[u].parent) {
    if (u == root) return true;
  }
  return false;
}

const Person* Org::find_person(std::string_view id) const {
  auto it = person_by_id_.find(std::string(id));
  return it == person_by_id_.end() ? nullptr : &people[it->second];
}

namespace {

struct OrgLoader {
  const std::string& file;
  Diagnostics& diags;
  Org org;
  struct Pending {
    size_t unit;
    std::string parent_id;
    SourcePos pos;
  };
  std::vector<Pending> flat_parents;  // top-level units that name their parent

  void load_unit(const YAML::Node& n, UnitIdx parent, bool top_level) {
    using yaml::pos_of;
    if (!n.IsMap()) {
      diags.error(file, pos_of(n), "a unit must be a mapping with id, name and level");
      return;
    }
    yaml::check_keys(n, {"id", "name", "level", "children", "households", "parent"}, file, "unit",
                     diags);
    Unit u;
    u.pos = pos_of(n);
    u.parent = parent;
    for (const char* req : {"id", "name", "level"}) {
      if (!n[req])
        diags.error(file, pos_of(n), std::string("unit is missing required key '") + req + "'");
    }
    if (n["id"]) {
      if (auto s = yaml::get_string(n["id"], file, "unit id", diags)) {
        u.id = *s;
        if (u.id.empty()) diags.error(file, pos_of(n["id"]), "unit id must not be empty");
        if (org.find_unit(u.id) != kNoUnit) {
          diags.error(file, pos_of(n["id"]), "duplicate unit id '" + u.id + "'");
        }
      }
    }
    if (n["name"]) {
      if (auto s = yaml::get_string(n["name"], file, "unit name", diags)) u.name = *s;
    }
    u.level = -1;
    if (n["level"]) {
      if (auto s = yaml::get_string(n["level"], file, "unit level", diags)) {
        u.level = org.level_index(*s);
        if (u.level < 0) {
          diags.error(file, pos_of(n["level"]), "unknown level '" + *s + "' (not in levels)");
        }
      }
    }
    if (n["households"]) {
      if (auto v = yaml::get_int(n["households"], file, "households", diags)) {
        if (*v < 0) diags.error(file, pos_of(n["households"]), "households must not be negative");
        u.households = *v;
      }
    }
    if (parent != kNoUnit && u.level >= 0 && u.level >= org.units[parent].level) {
      diags.error(file, pos_of(n["level"] ? n["level"] : n),
                  "unit '" + u.id + "' (level " + org.levels[u.level] +
                      ") must be at a lower level than its parent '" + org.units[parent].id +
                      "' (level " + org.levels[org.units[parent].level] + ")");
      u.level = -1;  // stop descending: also guards against alias cycles
    }
    if (n["parent"]) {
      if (!top_level) {
        diags.error(file, pos_of(n["parent"]),
                    "'parent' is only for top-level units; nested units have their parent already");
      } else if (auto s = yaml::get_string(n["parent"], file, "parent", diags)) {
        flat_parents.push_back({org.units.size(), *s, pos_of(n["parent"])});
      }
    }
    UnitIdx self = static_cast<UnitIdx>(org.units.size());
    org.units.push_back(u);
    org.index();
    if (n["children"]) {
      YAML::Node ch = n["children"];
      if (!ch.IsSequence()) {
        diags.error(file, pos_of(ch), "children must be a list of units");
      } else if (org.units[self].level < 0) {
        // Level unknown or invalid: children cannot be checked against it.
      } else {
        for (const auto& c : ch) load_unit(c, self, false);
      }
    }
  }

  void link_flat_parents() {
    for (const Pending& p : flat_parents) {
      UnitIdx parent = org.find_unit(p.parent_id);
      if (parent == kNoUnit) {
        diags.error(file, p.pos, "unknown parent unit '" + p.parent_id + "'");
        continue;
      }
      org.units[p.unit].parent = parent;
    }
    // Cycles through `parent:` references.
    for (size_t i = 0; i < org.units.size(); ++i) {
      UnitIdx u = static_cast<UnitIdx>(i);
      for (size_t steps = 0; u != kNoUnit; ++steps, u = org.units[u].parent) {
        if (steps > org.units.size()) {
          diags.error(file, org.units[i].pos,
                      "unit '" + org.units[i].id + "' is part of a parent cycle");
          org.units[i].parent = kNoUnit;
          break;
        }
      }
    }
    for (const Pending& p : flat_parents) {
      const Unit& u = org.units[p.unit];
      if (u.parent != kNoUnit && u.level >= 0 && u.level >= org.units[u.parent].level) {
        diags.error(file, p.pos,
                    "unit '" + u.id + "' must be at a lower level than its parent '" +
                        org.units[u.parent].id + "'");
      }
    }
  }

  void load(const YAML::Node& root) {
    using yaml::pos_of;
    if (!root.IsMap()) {
      diags.error(file, yaml::doc_pos(root),
                  "an org file must be a mapping (apiVersion, kind, levels, units, people)");
      return;
    }
    yaml::check_keys(root, {"apiVersion", "kind", "levels", "units", "people"}, file, "the org",
                     diags);
    for (const char* req : {"apiVersion", "kind", "levels", "units"}) {
      if (!root[req])
        diags.error(file, yaml::pos_of(root), std::string("missing required key '") + req + "'");
    }
    if (root["apiVersion"] && root["apiVersion"].IsScalar() &&
        root["apiVersion"].Scalar() != "gridcase/v1") {
      diags.error(file, pos_of(root["apiVersion"]), "apiVersion must be gridcase/v1");
    }
    if (root["kind"] && root["kind"].IsScalar() && root["kind"].Scalar() != "Org") {
      diags.error(file, pos_of(root["kind"]), "kind must be Org here");
    }
    if (YAML::Node lv = root["levels"]) {
      if (!lv.IsSequence() || lv.size() == 0) {
        diags.error(file, pos_of(lv), "levels must be a non-empty list, lowest first");
      } else {
        for (const auto& l : lv) {
          auto s = yaml::get_string(l, file, "a level", diags);
          if (!s) continue;
          if (org.level_index(*s) >= 0)
            diags.error(file, pos_of(l), "duplicate level '" + *s + "'");
          org.levels.push_back(*s);
        }
      }
    }
    if (YAML::Node us = root["units"]) {
      if (!us.IsSequence()) {
        diags.error(file, pos_of(us), "units must be a list");
      } else {
        for (const auto& u : us) load_unit(u, kNoUnit, true);
      }
    }
    link_flat_parents();
    if (YAML::Node ps = root["people"]) {
      if (!ps.IsSequence()) {
        diags.error(file, pos_of(ps), "people must be a list");
      } else {
        for (const auto& p : ps) load_person(p);
      }
    }
    org.index();
  }

  void load_person(const YAML::Node& n) {
    using yaml::pos_of;
    if (!n.IsMap()) {
      diags.error(file, pos_of(n), "a person must be a mapping with id, name and unit");
      return;
    }
    yaml::check_keys(n, {"id", "name", "unit", "role", "phone"}, file, "person", diags);
    Person p;
    for (const char* req : {"id", "unit"}) {
      if (!n[req])
        diags.error(file, pos_of(n), std::string("person is missing required key '") + req + "'");
    }
    if (n["id"]) {
      if (auto s = yaml::get_string(n["id"], file, "person id", diags)) p.id = *s;
      if (org.find_person(p.id))
        diags.error(file, pos_of(n["id"]), "duplicate person id '" + p.id + "'");
    }
    if (n["name"]) {
      if (auto s = yaml::get_string(n["name"], file, "person name", diags)) p.name = *s;
    }
    if (n["role"]) {
      if (auto s = yaml::get_string(n["role"], file, "role", diags)) p.role = *s;
    }
    if (n["phone"]) {
      if (auto s = yaml::get_string(n["phone"], file, "phone", diags)) p.phone = *s;
    }
    if (n["unit"]) {
      if (auto s = yaml::get_string(n["unit"], file, "person unit", diags)) {
        p.unit = *s;
        if (org.find_unit(*s) == kNoUnit) {
          diags.error(file, pos_of(n["unit"]),
                      "unknown unit '" + *s + "' for person '" + p.id + "'");
        }
      }
    }
    org.people.push_back(p);
    org.index();
  }
};

}  // namespace

std::optional<Org> load_org_text(std::string_view text, const std::string& file_name,
                                 Diagnostics& diags) {
  int before = diags.error_count();
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM is no column
  if (!yaml::check_utf8(text, file_name, diags)) return std::nullopt;
  yaml::TextScope scope(text);
  auto root = yaml::parse(text, file_name, diags);
  if (!root) return std::nullopt;
  OrgLoader loader{file_name, diags, {}, {}};
  loader.load(*root);
  if (diags.error_count() > before) return std::nullopt;
  return std::move(loader.org);
}

std::optional<Org> load_org_file(const std::string& path, Diagnostics& diags) {
  std::string text;
  if (!yaml::read_file(path, text)) {
    diags.error(path, {}, "cannot read file");
    return std::nullopt;
  }
  return load_org_text(text, path, diags);
}

}  // namespace gridcase
