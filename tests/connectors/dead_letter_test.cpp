// Dead letters keep what came in, whatever it was: text as text, bad bytes exactly (base64),
// and no more than a bounded slice of a huge record (which stays in the input topic).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connectors/json_events.hpp"
#include "engine/org.hpp"

namespace gridcase::json {
namespace {

nlohmann::json parse(const std::string& s) {
  return nlohmann::json::parse(s);
}

TEST(DeadLetter, KeepsTextPayloadAndWhereItCameFrom) {
  auto j =
      parse(dead_letter_json("bad_input", "invalid JSON", "gridcase.input", 2, 41, "不是JSON"));
  EXPECT_EQ(j["reason"], "bad_input");
  EXPECT_EQ(j["error"], "invalid JSON");
  EXPECT_EQ(j["topic"], "gridcase.input");
  EXPECT_EQ(j["partition"], 2);
  EXPECT_EQ(j["offset"], 41);
  EXPECT_EQ(j["payload"], "不是JSON");
  EXPECT_FALSE(j.contains("payload_base64"));
  EXPECT_FALSE(j.contains("payload_truncated"));
}

TEST(DeadLetter, InvalidUtf8IsReplacedInTextAndKeptExactlyInBase64) {
  std::string bad = std::string("ab\xff\xfe", 4) + "c";
  auto j = parse(dead_letter_json("bad_input", "x", "t", 0, 0, bad));
  EXPECT_EQ(j["payload"],
            "ab\xEF\xBF\xBD\xEF\xBF\xBD"
            "c");
  EXPECT_EQ(j["payload_base64"], "YWL//mM=");
}

TEST(DeadLetter, HugePayloadIsCutAtACharacterBoundaryAndSaysSo) {
  // 3-byte characters, so the cut point falls inside one of them.
  std::string big;
  while (big.size() < 2 * 1024 * 1024) big += "网";
  auto j = parse(dead_letter_json("bad_input", "too large", "t", 0, 7, big));
  std::string shown = j["payload"];
  EXPECT_LE(shown.size(), kDeadLetterPayloadMax);
  EXPECT_GT(shown.size(), kDeadLetterPayloadMax - 3);
  EXPECT_EQ(shown.size() % 3, 0u);
  EXPECT_EQ(j["payload_truncated"], true);
  EXPECT_EQ(j["payload_bytes"], big.size());
}

TEST(InputEvent, OverOneMebibyteIsRejectedWithItsSize) {
  Org org;
  std::string big = R"({"type":"report","at":"2026-01-01T00:00:00Z","report":{"description":")" +
                    std::string(kMaxInputEventBytes, 'x') + R"("}})";
  auto r = parse_input_event(big, org);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large: " + std::to_string(big.size())), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace gridcase::json
