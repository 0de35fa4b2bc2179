// The token store: hashes only on disk, atomic updates, seen by another instance.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "connectors/http/tokens.hpp"

namespace gridcase::http {
namespace {

namespace fs = std::filesystem;

class Tokens : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("gridcase-tokens-" + random_hex(6));
    fs::create_directories(dir);
    path = (dir / "tokens.json").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
  std::string path;
};

TEST_F(Tokens, AddFindListRevoke) {
  auto store = TokenStore::open(path, std::chrono::milliseconds(0));
  ASSERT_TRUE(store.ok());
  TokenInfo info;
  auto token = store.value()->add("w1", "phone", "person", &info);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(token->starts_with("gc_" + info.id + "_"));
  auto found = store.value()->find(*token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->person, "w1");
  EXPECT_FALSE(store.value()->find(*token + "x"));
  EXPECT_FALSE(store.value()->find(""));
  // Only the hash is on disk.
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(*token), std::string::npos);
  EXPECT_NE(text.find(sha256_hex(*token)), std::string::npos);
  EXPECT_EQ((fs::status(path).permissions() & fs::perms::others_read), fs::perms::none);

  // Another instance (the CLI while serve runs) sees it, and its revoke reaches the first.
  auto other = TokenStore::open(path, std::chrono::milliseconds(0));
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other.value()->list().size(), 1u);
  auto second = other.value()->add("cty", "", "person");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(store.value()->list().size(), 2u);  // re-read: the file changed
  EXPECT_TRUE(other.value()->revoke(info.id).value());
  EXPECT_FALSE(other.value()->revoke(info.id).value());
  auto fresh = TokenStore::open(path);
  EXPECT_FALSE(fresh.value()->find(*token));
  EXPECT_TRUE(fresh.value()->find(*second));
}

TEST_F(Tokens, Sha256IsSha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(random_hex(8).size(), 16u);
}

TEST_F(Tokens, ABrokenFileIsAnError) {
  std::ofstream(path) << "not json";
  EXPECT_FALSE(TokenStore::open(path).ok());
}

}  // namespace
}  // namespace gridcase::http
