// Online backup and restore end to end (docs/api.md §11): POST
// /v1/admin/backup on a running server, then a second server on the copy.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

std::string backup_body(const std::string& path) { return R"({"path":")" + path + R"("})"; }

} // namespace

TEST(backup, a_backup_taken_while_serving_restores_subscriptions_and_queued_events) {
  temp_dir live_dir, restore_dir;
  sink hook;
  server_process live(live_dir.path());
  live.start();
  auto r = live.call("POST", "/v1/subscriptions",
                     R"({"service":"b","url":")" + hook.url("/a") + R"(","verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json_string(r.body, "id");
  ASSERT_EQ(live.call("POST", "/v1/subscriptions/" + id + "/pause").status, 200);
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(
      live.call("POST", "/v1/events", R"({"type":"a.b","data":{"n":)" + std::to_string(i) + "}}")
        .status,
      202);

  // The restore directory is a data directory: serve --data DIR.
  const auto target = restore_dir.path() + "/data";
  auto b = live.call("POST", "/v1/admin/backup", backup_body(target));
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(json_string(b.body, "path"), target);
  EXPECT_EQ(json_string(b.body, "restore"), "switchyard serve --data " + target);
  EXPECT_NE(b.body.find(R"("formatVersion":1)"), std::string::npos) << b.body;
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::is_directory(target + "/journal"));

  // Published after the backup: not in it.
  for (int i = 40; i < 45; ++i)
    ASSERT_EQ(
      live.call("POST", "/v1/events", R"({"type":"a.b","data":{"n":)" + std::to_string(i) + "}}")
        .status,
      202);
  // A second backup into the same directory is refused; the first is intact.
  auto again = live.call("POST", "/v1/admin/backup", backup_body(target));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("already exists"), std::string::npos) << again.body;
  EXPECT_NE(live.wait_for_text("/v1/subscriptions/" + id, R"("queued":45)").find(R"("queued":45)"),
            std::string::npos);

  // Restore: a second server on the copy, while the first keeps running.
  server_process restored(restore_dir.path());
  restored.start();
  auto s = restored.call("GET", "/v1/subscriptions/" + id);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(json_string(s.body, "state"), "paused");
  EXPECT_NE(s.body.find(R"("queued":40)"), std::string::npos) << s.body;
  ASSERT_EQ(restored.call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  ASSERT_TRUE(hook.wait_delivered("/a", 40));
  auto done = restored.wait_for_text("/v1/subscriptions/" + id, R"("delivered":40)");
  EXPECT_NE(done.find(R"("queued":0)"), std::string::npos) << done;
  auto got = hook.delivered("/a");
  ASSERT_EQ(got.size(), 40u);
  std::set<std::string> bodies;
  for (const auto& d : got)
    bodies.insert(d.body);
  EXPECT_EQ(bodies.size(), 40u) << "a restored event was delivered twice";
}

TEST(backup, bad_requests_name_the_field_and_change_nothing) {
  temp_dir dir, other;
  server_process server(dir.path(), "", "metrics_listen = \"127.0.0.1:0\"\n");
  server.start();
  struct bad {
    std::string body;
    int status;
    std::string says;
  };
  const std::string exists = other.path();
  for (const auto& c : std::vector<bad>{
         {"{}", 422, "path: is required"},
         {R"({"path":"relative/dir"})", 422, "must be an absolute path"},
         {R"({"path":7})", 400, "path"},
         {R"({"path":")" + other.path() + R"(/x","paths":1})", 422, "paths"},
         {R"({"path":")" + other.path() + R"(/no/such/parent"})", 422, "does not exist"},
         {backup_body(exists), 409, "already exists"},
         {R"({"path":)", 400, "JSON"},
       }) {
    auto r = server.call("POST", "/v1/admin/backup", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_FALSE(std::filesystem::exists(other.path() + "/x"));
  EXPECT_FALSE(std::filesystem::exists(other.path() + "/no"));
  // The unauthenticated metrics listener does not take backups.
  auto port = server.metrics_port();
  ASSERT_NE(port, 0);
  EXPECT_EQ(http_call(port, "POST", "/v1/admin/backup", backup_body(other.path() + "/y")).status,
            404);
  EXPECT_FALSE(std::filesystem::exists(other.path() + "/y"));
  EXPECT_EQ(server.call("GET", "/healthz").status, 200);
}

TEST(backup, only_an_admin_token_may_take_one) {
  temp_dir dir, other;
  const std::string admin(32, 'a'), publish(32, 'p');
  server_process server(dir.path(), "[auth]\nadmin_tokens = [\"" + admin +
                                      "\"]\npublish_tokens = [\"" + publish + "\"]\n");
  server.start();
  auto as_publisher = server.call("POST", "/v1/admin/backup", backup_body(other.path() + "/p"),
                                  {{"Authorization", "Bearer " + publish}});
  EXPECT_EQ(as_publisher.status, 403) << as_publisher.body;
  EXPECT_FALSE(std::filesystem::exists(other.path() + "/p"));
  auto as_admin = server.call("POST", "/v1/admin/backup", backup_body(other.path() + "/a"),
                              {{"Authorization", "Bearer " + admin}});
  EXPECT_EQ(as_admin.status, 200) << as_admin.body;
  EXPECT_TRUE(std::filesystem::is_directory(other.path() + "/a/journal"));
}
