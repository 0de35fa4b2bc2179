// The org tree (workflow-dsl.md, "The org tree"): loading, validation with located
// errors (FILE:LINE:COL, columns in Unicode code points), ancestor_at and in_subtree.
#include "engine/org.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace gridcase {
namespace {

constexpr const char* kFile = "org.yaml";

// "LINE:COL" of the nth occurrence of `needle` in `text`, the column counted in code points.
std::string loc(std::string_view text, std::string_view needle, int nth = 0) {
  size_t at = text.find(needle);
  for (int i = 0; i < nth && at != std::string_view::npos; ++i) at = text.find(needle, at + 1);
  EXPECT_NE(at, std::string_view::npos) << "needle not in text: " << needle;
  if (at == std::string_view::npos) return "?:?";
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

struct Loaded {
  std::optional<Org> org;
  Diagnostics diags;
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(d.format());
    return out;
  }
  // True when some diagnostic starts with PREFIX ("org.yaml:3:5: error: ").
  bool has(const std::string& prefix) const {
    for (const auto& d : diags.all()) {
      if (d.format().rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
  std::string dump() const {
    std::string s;
    for (const auto& l : lines()) s += l + "\n";
    return s;
  }
};

Loaded load(std::string_view text) {
  Loaded l;
  l.org = load_org_text(text, kFile, l.diags);
  return l;
}

std::string error_at(std::string_view text, std::string_view needle, int nth = 0) {
  return std::string(kFile) + ":" + loc(text, needle, nth) + ": error: ";
}

// Expects the load to fail with an error at the node that starts at `needle`.
void expect_error_at(const std::string& text, std::string_view needle, int nth = 0) {
  Loaded l = load(text);
  EXPECT_FALSE(l.org.has_value());
  std::string want = error_at(text, needle, nth);
  EXPECT_TRUE(l.has(want)) << "want " << want << "\ngot:\n" << l.dump();
}
#define EXPECT_ORG_ERROR_AT(...)         \
  do {                                   \
    SCOPED_TRACE("EXPECT_ORG_ERROR_AT"); \
    expect_error_at(__VA_ARGS__);        \
  } while (0)

const std::string kHead =
    "apiVersion: gridcase/v1\nkind: Org\nlevels: [grid, village, township, county]\n";

// A tree that skips the village level under township t2.
const std::string kOrg = kHead + R"(units:
  - id: county
    name: 县
    level: county
    children:
      - id: t1
        name: 镇一
        level: township
        children:
          - id: v1
            name: 村一
            level: village
            children:
              - { id: g1, name: 网格一, level: grid, households: 120 }
              - { id: g2, name: 网格二, level: grid }
          - id: v2
            name: 村二
            level: village
            children:
              - { id: g3, name: 网格三, level: grid }
      - id: t2
        name: 镇二
        level: township
        children:
          - { id: g4, name: 网格四, level: grid }
people:
  - { id: w1, name: 才仁, unit: g1, role: grid_worker }
  - { id: s1, name: 扎西, unit: v1 }
)";

TEST(OrgLoad, ValidTreeLoads) {
  Loaded l = load(kOrg);
  ASSERT_TRUE(l.org.has_value()) << l.dump();
  const Org& org = *l.org;
  EXPECT_TRUE(l.diags.all().empty()) << l.dump();
  EXPECT_EQ(org.levels, (std::vector<std::string>{"grid", "village", "township", "county"}));
  EXPECT_EQ(org.units.size(), 9u);
  UnitIdx g1 = org.find_unit("g1");
  ASSERT_NE(g1, kNoUnit);
  EXPECT_EQ(org.units[g1].name, "网格一");
  EXPECT_EQ(org.units[g1].level, 0);
  EXPECT_EQ(org.units[g1].households, 120);
  EXPECT_EQ(org.units[g1].parent, org.find_unit("v1"));
  EXPECT_EQ(org.units[org.find_unit("g4")].parent, org.find_unit("t2"));
  EXPECT_EQ(org.find_unit("nope"), kNoUnit);
  EXPECT_EQ(org.level_index("township"), 2);
  EXPECT_EQ(org.level_index("city"), -1);
  // The grids, in file order.
  std::vector<std::string> grids;
  for (UnitIdx u : org.grids()) grids.push_back(org.units[u].id);
  EXPECT_EQ(grids, (std::vector<std::string>{"g1", "g2", "g3", "g4"}));
  const Person* w1 = org.find_person("w1");
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(w1->unit_idx, g1);
  EXPECT_EQ(w1->role, "grid_worker");
  EXPECT_EQ(org.find_person("w9"), nullptr);
}

TEST(OrgLoad, PeopleAreOptional) {
  Loaded l = load(kHead + "units:\n  - { id: g, name: G, level: grid }\n");
  ASSERT_TRUE(l.org.has_value()) << l.dump();
  EXPECT_TRUE(l.org->people.empty());
}

// ---------------------------------------------------------------- unknown keys

TEST(OrgErrors, UnknownKeyAtTheTop) {
  std::string t = kHead + "units: []\ncolour: red\n";
  EXPECT_ORG_ERROR_AT(t, "colour");
}

TEST(OrgErrors, UnknownKeyInANestedUnit) {
  std::string t = kHead + R"(units:
  - id: c
    name: C
    level: county
    children:
      - id: t
        name: T
        level: township
        colour: red
)";
  EXPECT_ORG_ERROR_AT(t, "colour");
}

TEST(OrgErrors, UnknownKeyInAPerson) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid }
people:
  - { id: p, name: P, unit: g, age: 30 }
)";
  EXPECT_ORG_ERROR_AT(t, "age:");
}

// ---------------------------------------------------------------- required keys

TEST(OrgErrors, MissingRequiredTopLevelKey) {
  Loaded l = load("apiVersion: gridcase/v1\nkind: Org\nunits: []\n");
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has("org.yaml:1:1: error: ")) << l.dump();
}

// "pointing at the YAML node": a missing key is reported at the mapping that lacks it,
// which is not 1:1 when the file starts with a comment.
TEST(OrgErrors, MissingRequiredTopLevelKeyAfterAComment) {
  Loaded l = load("# the tree\napiVersion: gridcase/v1\nkind: Org\nunits: []\n");
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has("org.yaml:2:1: error: ")) << l.dump();
}

TEST(OrgErrors, UnitMissingId) {
  std::string t = kHead + "units:\n  - { name: G, level: grid }\n";
  EXPECT_ORG_ERROR_AT(t, "{ name");
}

TEST(OrgErrors, UnitMissingLevel) {
  std::string t = kHead + "units:\n  - { id: g, name: G }\n";
  EXPECT_ORG_ERROR_AT(t, "{ id");
}

TEST(OrgErrors, WrongKindAndVersion) {
  EXPECT_ORG_ERROR_AT(
      std::string("apiVersion: gridcase/v2\nkind: Org\nlevels: [grid]\nunits: []\n"),
      "gridcase/v2");
  EXPECT_ORG_ERROR_AT(
      std::string("apiVersion: gridcase/v1\nkind: Workflow\nlevels: [grid]\nunits: []\n"),
      "Workflow");
}

// ---------------------------------------------------------------- ids and levels

TEST(OrgErrors, DuplicateUnitIdNested) {
  std::string t = kHead + R"(units:
  - id: c
    name: C
    level: county
    children:
      - { id: t, name: T, level: township }
      - { id: t, name: T2, level: township }
)";
  EXPECT_ORG_ERROR_AT(t, "t, name: T2");
}

TEST(OrgErrors, DuplicateUnitIdAcrossTopLevelUnits) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid }
  - { id: g, name: H, level: grid }
)";
  EXPECT_ORG_ERROR_AT(t, "g, name: H");
}

TEST(OrgErrors, DuplicatePersonId) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid }
people:
  - { id: p, name: A, unit: g }
  - { id: p, name: B, unit: g }
)";
  EXPECT_ORG_ERROR_AT(t, "p, name: B");
}

TEST(OrgErrors, DuplicateLevel) {
  std::string t = "apiVersion: gridcase/v1\nkind: Org\nlevels: [grid, village, grid]\nunits: []\n";
  EXPECT_ORG_ERROR_AT(t, "grid]");
}

TEST(OrgErrors, UnknownLevel) {
  std::string t = kHead + "units:\n  - id: c\n    name: C\n    level: city\n";
  EXPECT_ORG_ERROR_AT(t, "city");
}

TEST(OrgErrors, ChildAtTheSameLevelAsItsParent) {
  std::string t = kHead + R"(units:
  - id: t
    name: T
    level: township
    children:
      - id: t2
        name: T2
        level: township
)";
  EXPECT_ORG_ERROR_AT(t, "township", 2);  // 0: levels, 1: the parent
}

TEST(OrgErrors, ChildAboveItsParent) {
  std::string t = kHead + R"(units:
  - id: v
    name: V
    level: village
    children:
      - { id: c, name: C, level: county }
)";
  EXPECT_ORG_ERROR_AT(t, "county }");
}

TEST(OrgErrors, ChildLevelNotLowerDeepInTheTree) {
  std::string t = kHead + R"(units:
  - id: c
    name: C
    level: county
    children:
      - id: t
        name: T
        level: township
        children:
          - { id: v, name: V, level: village }
          - { id: x, name: X, level: township }
)";
  EXPECT_ORG_ERROR_AT(t, "township }");
}

TEST(OrgLoad, ChildMaySkipLevels) {
  std::string t = kHead + R"(units:
  - id: c
    name: C
    level: county
    children:
      - { id: g, name: G, level: grid }
)";
  Loaded l = load(t);
  ASSERT_TRUE(l.org.has_value()) << l.dump();
}

// ---------------------------------------------------------------- parent: references

TEST(OrgLoad, TopLevelUnitMayNameItsParent) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid, parent: v }
  - { id: v, name: V, level: village, parent: c }
  - { id: c, name: C, level: county }
)";
  Loaded l = load(t);
  ASSERT_TRUE(l.org.has_value()) << l.dump();
  const Org& org = *l.org;
  EXPECT_EQ(org.units[org.find_unit("g")].parent, org.find_unit("v"));
  EXPECT_EQ(org.units[org.find_unit("v")].parent, org.find_unit("c"));
  EXPECT_EQ(org.ancestor_at(org.find_unit("g"), 2), org.find_unit("c"));
  EXPECT_TRUE(org.in_subtree(org.find_unit("g"), org.find_unit("c")));
  auto& kids = org.units[org.find_unit("v")].children;
  EXPECT_EQ(kids, std::vector<UnitIdx>{org.find_unit("g")});
}

TEST(OrgErrors, UnknownParent) {
  std::string t = kHead + "units:\n  - { id: g, name: G, level: grid, parent: nowhere }\n";
  EXPECT_ORG_ERROR_AT(t, "nowhere");
}

TEST(OrgErrors, ParentAtALowerLevel) {
  std::string t = kHead + R"(units:
  - { id: c, name: C, level: county, parent: g }
  - { id: g, name: G, level: grid }
)";
  EXPECT_ORG_ERROR_AT(t, "g }");
}

// The contract does not say which node a cycle is reported at; the engine points at the
// unit (its mapping) where the cycle is found. That is sensible: pin it.
TEST(OrgErrors, ParentCycleOfTwo) {
  std::string t = kHead + R"(units:
  - { id: a, name: A, level: village, parent: b }
  - { id: b, name: B, level: village, parent: a }
)";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  bool cycle = false;
  for (const auto& d : l.diags.all()) {
    if (d.message.find("cycle") != std::string::npos) {
      cycle = true;
      EXPECT_EQ(d.format().rfind(error_at(t, "{ id: a"), 0), 0u) << d.format();
    }
  }
  EXPECT_TRUE(cycle) << l.dump();
}

TEST(OrgErrors, ParentCycleThroughLevelsStillAnError) {
  // Levels rise along the chain, so a cycle always breaks the level rule too; either way
  // the file must not load and must not hang.
  std::string t = kHead + R"(units:
  - { id: a, name: A, level: village, parent: b }
  - { id: b, name: B, level: township, parent: c }
  - { id: c, name: C, level: county, parent: a }
)";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.diags.has_errors());
}

TEST(OrgErrors, SelfParent) {
  std::string t = kHead + "units:\n  - { id: s, name: S, level: village, parent: s }\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has(error_at(t, "{ id: s"))) << l.dump();
}

// ---------------------------------------------------------------- people

TEST(OrgErrors, PersonWithUnknownUnit) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid }
people:
  - { id: p, name: P, unit: nowhere }
)";
  EXPECT_ORG_ERROR_AT(t, "nowhere");
}

TEST(OrgErrors, PersonWithoutUnit) {
  std::string t = kHead + R"(units:
  - { id: g, name: G, level: grid }
people:
  - { id: p, name: P }
)";
  EXPECT_ORG_ERROR_AT(t, "{ id: p");
}

// ---------------------------------------------------------------- text problems

TEST(OrgErrors, InvalidUtf8PointsAtTheBadByte) {
  // Line 5, after "  - { id: g, name: 网" (code points): the column counts characters.
  std::string t = kHead + "units:\n  - { id: g, name: 网\xff格, level: grid }\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has("org.yaml:5:21: error: ")) << l.dump();
}

TEST(OrgErrors, TruncatedUtf8Sequence) {
  std::string t = kHead + "units: []\n# \xe7\xbd\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has("org.yaml:5:3: error: ")) << l.dump();
}

TEST(OrgErrors, YamlSyntaxError) {
  // `a: b: c` -- the second ':' is an illegal map value.
  std::string t = "apiVersion: gridcase/v1\nkind: Org: x\nlevels: [grid]\nunits: []\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  EXPECT_TRUE(l.has("org.yaml:2:10: error: ")) << l.dump();
}

TEST(OrgErrors, YamlTabIndentation) {
  std::string t = kHead + "units:\n\t- { id: g, name: G, level: grid }\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.org.has_value());
  ASSERT_FALSE(l.diags.all().empty());
  EXPECT_EQ(l.diags.all()[0].pos.line, 5) << l.dump();
}

TEST(OrgErrors, DuplicateKeyInAMapping) {
  std::string t = "apiVersion: gridcase/v1\nkind: Org\nkind: Org\nlevels: [grid]\nunits: []\n";
  EXPECT_ORG_ERROR_AT(t, "kind", 1);
}

// Columns count code points (result.hpp: "columns count Unicode code points"), as the
// UTF-8 check does: Chinese names before the offending node must not shift it.
TEST(OrgErrors, ColumnsCountCodePointsAfterChineseText) {
  std::string t = kHead + R"(units:
  - id: c
    name: 县
    level: county
    children:
      - { id: t, name: 加吉博洛镇, level: townshp }
)";
  EXPECT_ORG_ERROR_AT(t, "townshp");
}

TEST(OrgErrors, ColumnsCountCodePointsForPeople) {
  std::string t = kHead + R"(units:
  - { id: g, name: 第一网格, level: grid }
people:
  - { id: w, name: 才仁, unit: g9 }
)";
  EXPECT_ORG_ERROR_AT(t, "g9");
}

// A UTF-8 byte order mark (Windows editors write one) is not a column: positions after it
// are the same as without it.
TEST(OrgErrors, ByteOrderMarkDoesNotShiftColumns) {
  std::string body = kHead + "units:\n  - { id: g, name: G, level: gird }\n";
  Loaded plain = load(body);
  EXPECT_TRUE(plain.has(error_at(body, "gird"))) << plain.dump();
  Loaded bom = load("\xEF\xBB\xBF" + body);
  EXPECT_FALSE(bom.org.has_value());
  EXPECT_TRUE(bom.has(error_at(body, "gird"))) << bom.dump();
}

TEST(OrgLoad, ByteOrderMarkAndCrlfAreAccepted) {
  std::string t =
      "\xEF\xBB\xBF"
      "apiVersion: gridcase/v1\r\nkind: Org\r\nlevels: [grid]\r\nunits:\r\n"
      "  - { id: g, name: 网格, level: grid }\r\n";
  Loaded l = load(t);
  ASSERT_TRUE(l.org.has_value()) << l.dump();
  EXPECT_EQ(l.org->units[0].name, "网格");
}

// ---------------------------------------------------------------- queries

class OrgQueries : public ::testing::Test {
 protected:
  void SetUp() override {
    Loaded l = load(kOrg);
    ASSERT_TRUE(l.org.has_value()) << l.dump();
    org = std::move(*l.org);
  }
  UnitIdx u(std::string_view id) const {
    UnitIdx x = org.find_unit(id);
    EXPECT_NE(x, kNoUnit) << id;
    return x;
  }
  std::string at(std::string_view id, int level) const {
    UnitIdx a = org.ancestor_at(u(id), level);
    return a == kNoUnit ? "(none)" : org.units[a].id;
  }
  Org org;
};

TEST_F(OrgQueries, AncestorAtEachLevel) {
  EXPECT_EQ(at("g1", 0), "g1");
  EXPECT_EQ(at("g1", 1), "v1");
  EXPECT_EQ(at("g1", 2), "t1");
  EXPECT_EQ(at("g1", 3), "county");
  EXPECT_EQ(at("v2", 1), "v2");
  EXPECT_EQ(at("v2", 2), "t1");
  EXPECT_EQ(at("county", 3), "county");
}

TEST_F(OrgQueries, AncestorAtASkippedLevelIsTheNearestAbove) {
  // g4 sits directly under township t2: its "village" is t2.
  EXPECT_EQ(at("g4", 1), "t2");
  EXPECT_EQ(at("g4", 2), "t2");
  EXPECT_EQ(at("g4", 3), "county");
}

TEST_F(OrgQueries, AncestorAtBelowTheUnitIsTheUnitItself) {
  // Asking a village for its grid: the nearest unit at or above is the village.
  EXPECT_EQ(at("v1", 0), "v1");
}

TEST_F(OrgQueries, AncestorAboveTheRootIsNone) {
  std::string t = kHead +
                  "units:\n  - { id: t, name: T, level: township, children: [{ id: g, name: G, "
                  "level: grid }] }\n";
  Loaded l = load(t);
  ASSERT_TRUE(l.org.has_value()) << l.dump();
  EXPECT_EQ(l.org->ancestor_at(l.org->find_unit("g"), 3), kNoUnit);
  EXPECT_EQ(l.org->ancestor_at(l.org->find_unit("g"), 1), l.org->find_unit("t"));
}

TEST_F(OrgQueries, InSubtree) {
  EXPECT_TRUE(org.in_subtree(u("g1"), u("g1")));
  EXPECT_TRUE(org.in_subtree(u("g1"), u("v1")));
  EXPECT_TRUE(org.in_subtree(u("g1"), u("t1")));
  EXPECT_TRUE(org.in_subtree(u("g1"), u("county")));
  EXPECT_TRUE(org.in_subtree(u("g4"), u("t2")));
  EXPECT_FALSE(org.in_subtree(u("v1"), u("g1")));  // an ancestor is not below its child
  EXPECT_FALSE(org.in_subtree(u("g2"), u("g1")));  // siblings
  EXPECT_FALSE(org.in_subtree(u("g3"), u("v1")));  // cousin
  EXPECT_FALSE(org.in_subtree(u("g4"), u("t1")));
  EXPECT_FALSE(org.in_subtree(u("g1"), kNoUnit));
  EXPECT_FALSE(org.in_subtree(kNoUnit, u("county")));
}

}  // namespace
}  // namespace gridcase
