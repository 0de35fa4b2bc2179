#pragma once
// The organisation tree (config/org.yaml): units at levels, and the people in them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/diagnostics.hpp"

namespace gridcase {

using UnitIdx = int32_t;  // index into Org::units; -1 = none
constexpr UnitIdx kNoUnit = -1;

struct Unit {
  std::string id;
  std::string name;
  int level = 0;  // index into Org::levels (0 = lowest, e.g. grid)
  UnitIdx parent = kNoUnit;
  std::vector<UnitIdx> children;
  std::optional<int64_t> households;
  SourcePos pos;
};

struct Person {
  std::string id;
  std::string name;
  std::string unit;  // unit id
  UnitIdx unit_idx = kNoUnit;
  std::string role;
  std::string phone;  // optional; the SMS channel maps a sender's number to the person
};

class Org {
 public:
  std::vector<std::string> levels;  // lowest first: grid, village, township, county
  std::vector<Unit> units;          // parents before children
  std::vector<Person> people;

  // Builds the look-up tables; call after filling the vectors by hand (the loader does).
  void index();

  UnitIdx find_unit(std::string_view id) const;
  int level_index(std::string_view level) const;  // -1 if unknown
  // The unit's ancestor (itself included) at `level`, or where the tree skips that level
  // the nearest ancestor above it; kNoUnit if there is none.
  UnitIdx ancestor_at(UnitIdx unit, int level) const;
  // True when `unit` is `root` or lies below it.
  bool in_subtree(UnitIdx unit, UnitIdx root) const;
  const Person* find_person(std::string_view id) const;
  // The units at the lowest level (grids), in file order.
  const std::vector<UnitIdx>& grids() const { return grids_; }

 private:
  std::unordered_map<std::string, UnitIdx> unit_by_id_;
  std::unordered_map<std::string, size_t> person_by_id_;
  std::vector<UnitIdx> grids_;
};

// Loads and validates an org file; problems go to `diags` located as FILE:LINE:COL.
// Returns nullopt when there were errors.
std::optional<Org> load_org_file(const std::string& path, Diagnostics& diags);
std::optional<Org> load_org_text(std::string_view text, const std::string& file_name,
                                 Diagnostics& diags);

}  // namespace gridcase
