#include "engine/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gridcase {
namespace {

TEST(Value, KindsAndAccessors) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(nullptr).is_null());
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_EQ(Value(3).as_int(), 3);
  EXPECT_TRUE(Value(int64_t{3}).is_int());
  EXPECT_TRUE(Value(1.5).is_double());
  EXPECT_TRUE(Value(1.5).is_number());
  EXPECT_TRUE(Value(3).is_number());
  EXPECT_DOUBLE_EQ(Value(3).as_number(), 3.0);
  EXPECT_EQ(Value("x").as_string(), "x");
  EXPECT_TRUE(Value(Timestamp{5}).is_timestamp());
  EXPECT_TRUE(Value(Duration{5}).is_duration());
  EXPECT_TRUE(Value(List{1, 2}).is_list());
  EXPECT_TRUE(Value(Map{{"a", 1}}).is_map());
}

TEST(Value, Find) {
  const Value m(Map{{"a", 1}, {"n", nullptr}});
  ASSERT_NE(m.find("a"), nullptr);
  EXPECT_EQ(m.find("a")->as_int(), 1);
  ASSERT_NE(m.find("n"), nullptr);  // present with a null value
  EXPECT_TRUE(m.find("n")->is_null());
  EXPECT_EQ(m.find("b"), nullptr);
  EXPECT_EQ(m.find(""), nullptr);
  EXPECT_EQ(Value(List{1}).find("a"), nullptr);
  EXPECT_EQ(Value("a").find("a"), nullptr);
  EXPECT_EQ(Value().find("a"), nullptr);
}

TEST(ValueEquality, SameTypes) {
  EXPECT_EQ(Value(), Value());
  EXPECT_EQ(Value(true), Value(true));
  EXPECT_NE(Value(true), Value(false));
  EXPECT_EQ(Value(7), Value(int64_t{7}));
  EXPECT_NE(Value(7), Value(8));
  EXPECT_EQ(Value(2.5), Value(2.5));
  EXPECT_EQ(Value("abc"), Value(std::string("abc")));
  EXPECT_NE(Value("abc"), Value("abd"));
  EXPECT_EQ(Value(Timestamp{10}), Value(Timestamp{10}));
  EXPECT_NE(Value(Timestamp{10}), Value(Timestamp{11}));
  EXPECT_EQ(Value(Duration{10}), Value(Duration{10}));
  EXPECT_NE(Value(Duration{10}), Value(Duration{11}));
}

TEST(ValueEquality, NumbersCompareByValue) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_EQ(Value(1.0), Value(1));
  EXPECT_NE(Value(1), Value(1.5));
  EXPECT_EQ(Value(-3), Value(-3.0));
  // No rounding of large integers through double.
  const int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_NE(Value(big), Value(static_cast<double>(big)));
  EXPECT_EQ(Value(int64_t{1} << 53), Value(static_cast<double>(int64_t{1} << 53)));
  EXPECT_NE(Value(std::numeric_limits<int64_t>::max()), Value(9223372036854775808.0));
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()), Value(-9223372036854775808.0));
  EXPECT_NE(Value(0), Value(std::nan("")));
  EXPECT_NE(Value(0), Value(std::numeric_limits<double>::infinity()));
}

TEST(ValueEquality, DifferentTypesNeverEqual) {
  const Value values[] = {Value(),     Value(false),        Value(0),           Value("0"),
                          Value(""),   Value(Timestamp{0}), Value(Duration{0}), Value(List{}),
                          Value(Map{})};
  for (size_t i = 0; i < std::size(values); ++i) {
    for (size_t j = 0; j < std::size(values); ++j) {
      if (i == j) {
        EXPECT_EQ(values[i], values[j]) << values[i].debug_string();
      } else if (!(values[i].is_string() && values[j].is_string())) {
        EXPECT_NE(values[i], values[j])
            << values[i].debug_string() << " vs " << values[j].debug_string();
      }
    }
  }
  EXPECT_NE(Value(1), Value(true));
  EXPECT_NE(Value("1"), Value(1));
  EXPECT_NE(Value(Timestamp{5}), Value(Duration{5}));
  EXPECT_NE(Value(), Value(0));
}

TEST(ValueEquality, ListsElementwise) {
  EXPECT_EQ(Value(List{1, "a", nullptr}), Value(List{1.0, "a", nullptr}));
  EXPECT_NE(Value(List{1, 2}), Value(List{2, 1}));
  EXPECT_NE(Value(List{1, 2}), Value(List{1, 2, 3}));
  EXPECT_EQ(Value(List{Value(List{1})}), Value(List{Value(List{1})}));
  EXPECT_NE(Value(List{Value(List{1})}), Value(List{Value(List{2})}));
  EXPECT_EQ(Value(List{}), Value(List{}));
}

TEST(ValueEquality, MapsElementwise) {
  EXPECT_EQ(Value(Map{{"a", 1}, {"b", "x"}}), Value(Map{{"b", "x"}, {"a", 1.0}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"a", 2}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"b", 1}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"a", 1}, {"b", 1}}));
  EXPECT_NE(Value(Map{{"a", nullptr}}), Value(Map{}));
  EXPECT_EQ(Value(Map{{"m", Value(Map{{"x", List{1}}})}}),
            Value(Map{{"m", Value(Map{{"x", List{1}}})}}));
}

TEST(Value, TypeNames) {
  EXPECT_STREQ(Value().type_name(), "null");
  EXPECT_STREQ(Value(true).type_name(), "bool");
  EXPECT_STREQ(Value(1).type_name(), "int");
  EXPECT_STREQ(Value(1.5).type_name(), "decimal");
  EXPECT_STREQ(Value("s").type_name(), "string");
  EXPECT_STREQ(Value(Timestamp{}).type_name(), "timestamp");
  EXPECT_STREQ(Value(Duration{}).type_name(), "duration");
  EXPECT_STREQ(Value(List{}).type_name(), "list");
  EXPECT_STREQ(Value(Map{}).type_name(), "map");
}

TEST(Value, DebugString) {
  EXPECT_EQ(Value().debug_string(), "null");
  EXPECT_EQ(Value(true).debug_string(), "true");
  EXPECT_EQ(Value(false).debug_string(), "false");
  EXPECT_EQ(Value(-42).debug_string(), "-42");
  EXPECT_EQ(Value(1.5).debug_string(), "1.5");
  EXPECT_EQ(Value(2.0).debug_string(), "2.0");
  EXPECT_EQ(Value(0.1).debug_string(), "0.1");
  EXPECT_EQ(Value("a\"b\\c\n").debug_string(), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(Value("网格").debug_string(), "\"网格\"");
  EXPECT_EQ(Value(Timestamp{500}).debug_string(), "timestamp(\"1970-01-01T00:00:00.5Z\")");
  EXPECT_EQ(Value(Duration{36 * 3600 * 1000}).debug_string(), "duration(\"1d12h\")");
  EXPECT_EQ(Value(List{1, "a", nullptr}).debug_string(), "[1, \"a\", null]");
  EXPECT_EQ(Value(List{}).debug_string(), "[]");
  EXPECT_EQ(Value(Map{{"b", 2}, {"a", List{true}}}).debug_string(), "{\"a\": [true], \"b\": 2}");
  EXPECT_EQ(Value(Map{}).debug_string(), "{}");
}

TEST(Value, CopiesShareContainers) {
  const Value a(List{1, 2, 3});
  const Value b = a;
  EXPECT_EQ(&a.as_list(), &b.as_list());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace gridcase
