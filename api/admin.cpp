// /v1/admin/backup (docs/api.md §11): online backups of the journal.

#include <unistd.h>

#include <filesystem>

#include "api/common.hpp"
#include "core/admin_codec.hpp"
#include "core/json_writer.hpp"
#include "storage/backup.hpp"

namespace sy::api {

namespace {

// Returns why `path` cannot take a new backup (a 409 or a 422), or nullopt.
std::optional<transport::http_response> refuse_target(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() != fs::file_type::not_found)
    return error_response(409,
                          "path: " + path + " already exists; a backup goes into a new directory");
  auto parent = fs::path(path).parent_path();
  if (!fs::is_directory(parent, ec))
    return error_response(422, "path: the parent directory " + parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    return error_response(422, "path: switchyard may not write in " + parent.string() +
                                 " (check its permissions)");
  return std::nullopt;
}

} // namespace

void install_admin(transport::http_server& server, const api_context& ctx) {
  server.route(
    "POST", "/v1/admin/backup", [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      auto body = core::decode_backup_request(req.body);
      if (!body)
        return respond(input_error_response(body.error()));
      auto path = std::filesystem::path(body->path).lexically_normal().string();
      while (path.size() > 1 && path.back() == '/')
        path.pop_back();
      if (auto refused = refuse_target(path))
        return respond(std::move(*refused));
      const auto* journal = ctx.journal;
      bool started = ctx.backups->start(path, [respond, journal](storage::backup_outcome out) {
        if (out.error)
          return respond(
            error_response(500, "backup into " + out.dir + " failed: " + out.error->message +
                                  "; nothing was left behind, fix the cause and call again"));
        core::json_writer w;
        w.begin_object()
          .key("path")
          .value(out.dir)
          .key("formatVersion")
          // The layout the copy records (1 until cluster mode made partition logs).
          .value(static_cast<int64_t>(journal ? journal->format_version()
                                              : storage::journal_format_version))
          .key("tookMs")
          .value(static_cast<int64_t>(out.took.count()))
          .key("restore")
          .value("switchyard serve --data " + out.dir)
          .end_object();
        respond(json_response(200, std::move(w).str()));
      });
      if (!started)
        respond(
          error_response(409, "a backup is already running; call again when it has finished"));
    });
}

} // namespace sy::api
