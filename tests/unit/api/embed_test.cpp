// switchyard_embed_file (cmake/embed_file.cmake): the generated constant
// holds the file's bytes exactly, whatever they are.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#ifndef SWITCHYARD_SOURCE_DIR
#error "SWITCHYARD_SOURCE_DIR must name the repository root"
#endif

namespace sy::embedded {
extern const std::string_view embed_fixture;
extern const std::string_view openapi_yaml;
} // namespace sy::embedded

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

} // namespace

TEST(embed_file, keeps_every_byte) {
  // Quotes, a backslash, `)"`, a trigraph, CR LF, NUL and bytes that are not UTF-8.
  const auto want = read_file(SWITCHYARD_SOURCE_DIR "/tests/unit/api/embed_fixture.bin");
  ASSERT_FALSE(want.empty());
  ASSERT_NE(want.find('\0'), std::string::npos);
  EXPECT_EQ(sy::embedded::embed_fixture.size(), want.size());
  EXPECT_EQ(std::string(sy::embedded::embed_fixture), want);
}

TEST(embed_file, embeds_the_openapi_document_the_api_serves) {
  const auto want = read_file(SWITCHYARD_SOURCE_DIR "/docs/openapi.yaml");
  ASSERT_TRUE(want.starts_with("openapi: 3.1."));
  EXPECT_EQ(std::string(sy::embedded::openapi_yaml), want);
}
