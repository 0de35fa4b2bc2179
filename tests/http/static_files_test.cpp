// The web app's static files: content types, caching, the SPA fallback, gzip siblings,
// and no way out of the root (.., encoded .., symlinks).
#include "connectors/http/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace gridcase::http {
namespace {

namespace fs = std::filesystem;

std::string header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    base_ = fs::temp_directory_path() / ("gridcase-static-" + std::to_string(rd()));
    root_ = base_ / "dist";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html><title>网格</title>");
    write(root_ / "assets" / "index-abc123.js", "console.log(1)");
    write(root_ / "assets" / "index-abc123.js.gz", "GZ");
    write(root_ / "assets" / "style-1.css", "body{}");
    write(root_ / "manifest.webmanifest", "{}");
    write(root_ / "sw.js", "self");
    write(root_ / ".secret", "hidden");
    write(base_ / "secret.txt", "outside");
    fs::create_symlink(base_ / "secret.txt", root_ / "link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  fs::path base_, root_;
};

TEST_F(StaticFilesTest, ServesFilesWithTypesAndCaching) {
  StaticFiles files(root_);
  auto js = files.get("/assets/index-abc123.js", "");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_STREQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(*js, "Cache-Control"), "public, max-age=31536000, immutable");

  auto css = files.get("/assets/style-1.css", "");
  ASSERT_TRUE(css);
  EXPECT_STREQ(css->content_type, "text/css; charset=utf-8");

  auto sw = files.get("/sw.js", "");
  ASSERT_TRUE(sw);
  EXPECT_EQ(header(*sw, "Cache-Control"), "no-cache");  // a service worker must update
  auto mf = files.get("/manifest.webmanifest", "");
  ASSERT_TRUE(mf);
  EXPECT_STREQ(mf->content_type, "application/manifest+json; charset=utf-8");
}

TEST_F(StaticFilesTest, RootAndAppRoutesAreIndexHtml) {
  StaticFiles files(root_);
  for (const char* p : {"/", "/inbox", "/cases/r-20261129-1", "/report/"}) {
    auto r = files.get(p, "");
    ASSERT_TRUE(r) << p;
    EXPECT_EQ(r->status, 200) << p;
    EXPECT_STREQ(r->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r->body, "<!doctype html><title>网格</title>");
    EXPECT_EQ(header(*r, "Cache-Control"), "no-cache");
  }
  auto missing = files.get("/assets/gone-1.js", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);  // a missing file is not the app
}

TEST_F(StaticFilesTest, ApiPathsAreNotTheAppsToAnswer) {
  StaticFiles files(root_);
  EXPECT_FALSE(files.get("/v1/nope", ""));
  EXPECT_FALSE(files.get("/v1", ""));
}

TEST_F(StaticFilesTest, GzipSiblingWhenAccepted) {
  StaticFiles files(root_);
  auto gz = files.get("/assets/index-abc123.js", "br, gzip, deflate");
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->body, "GZ");
  EXPECT_EQ(header(*gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(*gz, "Vary"), "Accept-Encoding");
  auto css = files.get("/assets/style-1.css", "gzip");  // no sibling: plain
  ASSERT_TRUE(css);
  EXPECT_EQ(css->body, "body{}");
  EXPECT_EQ(header(*css, "Content-Encoding"), "");
}

TEST_F(StaticFilesTest, NoPathTraversal) {
  StaticFiles files(root_);
  for (const char* p :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2E%2E/secret.txt", "/..%2fsecret.txt", "/a\\..\\secret.txt",
        "/%5c..%5csecret.txt", "/.secret", "/link.txt", "/%00index.html", "/....//secret.txt"}) {
    auto r = files.get(p, "");
    ASSERT_TRUE(r) << p;
    EXPECT_EQ(r->status, 404) << p;
    EXPECT_EQ(r->body.find("outside"), std::string::npos) << p;
    EXPECT_EQ(r->body.find("hidden"), std::string::npos) << p;
  }
}

}  // namespace
}  // namespace gridcase::http
