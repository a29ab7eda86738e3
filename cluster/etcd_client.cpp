// etcd's v3 JSON gateway, read with simdjson's DOM API: the answers are
// small and rare (leases, elections, configurations), so clarity wins over
// On Demand's speed here.

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_decode.hpp"
#include "cluster/etcd_json.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <simdjson.h>
#include <utility>

#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "transport/http_client.hpp"

namespace sy::cluster {
namespace {

using json::int_field;
using json::revision_of;
using simdjson::dom::element;

std::string b64(const std::string& bytes) { return core::base64_encode(bytes); }

etcd_txn txn_of(element root) {
  bool ok = false;
  if (root["succeeded"].get_bool().get(ok))
    ok = false; // absent = false (proto3 leaves out defaults)
  return {ok, revision_of(root)};
}

etcd_lease lease_of(element object) { return {int_field(object, "ID"), int_field(object, "TTL")}; }

template <class T, class Read>
std::function<void(std::string)> reader(etcd_client::callback<T> done, Read read) {
  return [done, read](std::string body) { done(json::parse_answer<T>(body, read)); };
}

template <class T>
std::function<void(etcd_error)> failer(etcd_client::callback<T> done) {
  return [done](etcd_error e) { done(std::move(e)); };
}

std::string put_request(const std::string& key, const std::string& value, int64_t lease) {
  core::json_writer w;
  w.begin_object().key("key").value(b64(key)).key("value").value(b64(value));
  if (lease != 0)
    w.key("lease").value(std::to_string(lease));
  w.end_object();
  return std::move(w).str();
}

std::string compare_and_put_request(const char* target, const char* field, int64_t revision,
                                    const std::string& key, const std::string& value,
                                    int64_t lease) {
  core::json_writer w;
  w.begin_object().key("compare").begin_array();
  w.begin_object()
    .key("target")
    .value(target)
    .key("key")
    .value(b64(key))
    .key(field)
    .value(std::to_string(revision))
    .end_object();
  w.end_array().key("success").begin_array().begin_object().key("request_put");
  w.raw(put_request(key, value, lease));
  w.end_object().end_array().end_object();
  return std::move(w).str();
}

} // namespace

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

etcd_client::etcd_client(transport::http_client& http, std::string endpoint,
                         std::chrono::milliseconds timeout, std::size_t range_page)
    : http_(http), endpoint_(std::move(endpoint)), timeout_(timeout),
      range_page_(std::max<std::size_t>(range_page, 1)) {
  while (!endpoint_.empty() && endpoint_.back() == '/')
    endpoint_.pop_back();
}

void etcd_client::post(const char* path, std::string body, std::function<void(std::string)> read,
                       std::function<void(etcd_error)> fail) {
  transport::client_request req;
  req.method = "POST";
  req.url = endpoint_ + path;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  req.timeout = timeout_;
  http_.send(std::move(req), [read = std::move(read), fail = std::move(fail),
                              path](transport::client_response r) {
    if (r.status == 0)
      return fail({0, std::string("etcd ") + path + ": " + r.error, r.refused});
    if (r.status != 200) {
      // The gateway's error body: {"error","message","code"}.
      auto message = json::parse_answer<std::string>(r.body, [](element root) {
        std::string_view m;
        if (root["message"].get_string().get(m))
          throw std::runtime_error("no message");
        return std::string(m);
      });
      return fail({r.status, std::string("etcd ") + path + ": " +
                               (message ? *message : "HTTP " + std::to_string(r.status))});
    }
    read(std::move(r.body));
  });
}

// A prefix read under way. It holds a copy of the client (a reference to
// the HTTP client and the member's address), so that no page needs the
// client that started the read to still exist.
struct etcd_client::paged_range {
  etcd_client client;
  std::string start; ///< the next page's first key
  std::string end;   ///< the prefix's range_end
  etcd_range out;    ///< revision: the first page's, at which every later page is read
  callback<etcd_range> done;
};

void etcd_client::range(const std::string& key, bool prefix, callback<etcd_range> done) {
  if (prefix)
    return next_page(
      std::make_shared<paged_range>(paged_range{*this, key, prefix_end(key), {}, std::move(done)}));
  core::json_writer w;
  w.begin_object().key("key").value(b64(key)).end_object();
  post("/v3/kv/range", std::move(w).str(),
       reader<etcd_range>(done, [](element root) { return json::range_page_of(root).range; }),
       failer(done));
}

void etcd_client::next_page(std::shared_ptr<paged_range> read) {
  core::json_writer w;
  w.begin_object()
    .key("key")
    .value(b64(read->start))
    .key("range_end")
    .value(b64(read->end))
    .key("limit")
    .value(std::to_string(range_page_));
  if (read->out.revision != 0)
    w.key("revision").value(std::to_string(read->out.revision));
  w.end_object();
  auto fail = failer(read->done);
  post(
    "/v3/kv/range", std::move(w).str(),
    [read](std::string body) {
      auto page = read_range_page(body);
      if (!page)
        return read->done(std::move(page.error()));
      if (read->out.revision == 0)
        read->out.revision = page->range.revision;
      for (auto& kv : page->range.kvs)
        read->out.kvs.push_back(std::move(kv));
      if (!page->more || page->range.kvs.empty())
        return read->done(std::move(read->out));
      read->start = read->out.kvs.back().key + std::string(1, '\0');
      read->client.next_page(read);
    },
    std::move(fail));
}

void etcd_client::put(const std::string& key, const std::string& value, int64_t lease,
                      callback<int64_t> done) {
  post("/v3/kv/put", put_request(key, value, lease),
       reader<int64_t>(done, [](element root) { return revision_of(root); }), failer(done));
}

void etcd_client::create(const std::string& key, const std::string& value, int64_t lease,
                         callback<etcd_txn> done) {
  post("/v3/kv/txn", compare_and_put_request("CREATE", "create_revision", 0, key, value, lease),
       reader<etcd_txn>(done, txn_of), failer(done));
}

void etcd_client::compare_and_put(const std::string& key, int64_t mod_revision,
                                  const std::string& value, int64_t lease,
                                  callback<etcd_txn> done) {
  post("/v3/kv/txn",
       compare_and_put_request("MOD", "mod_revision", mod_revision, key, value, lease),
       reader<etcd_txn>(done, txn_of), failer(done));
}

void etcd_client::erase(const std::string& key, bool prefix, callback<int64_t> done) {
  core::json_writer w;
  w.begin_object().key("key").value(b64(key));
  if (prefix)
    w.key("range_end").value(b64(prefix_end(key)));
  w.end_object();
  post("/v3/kv/deleterange", std::move(w).str(),
       reader<int64_t>(done, [](element root) { return int_field(root, "deleted"); }),
       failer(done));
}

void etcd_client::grant(std::chrono::seconds ttl, callback<etcd_lease> done) {
  core::json_writer w;
  w.begin_object().key("TTL").value(std::to_string(ttl.count())).end_object();
  post("/v3/lease/grant", std::move(w).str(), reader<etcd_lease>(done, lease_of), failer(done));
}

void etcd_client::keep_alive(int64_t id, callback<etcd_lease> done) {
  core::json_writer w;
  w.begin_object().key("ID").value(std::to_string(id)).end_object();
  post("/v3/lease/keepalive", std::move(w).str(),
       reader<etcd_lease>(done,
                          [](element root) {
                            element result;
                            if (root["result"].get(result))
                              throw std::runtime_error("no result");
                            return lease_of(result);
                          }),
       failer(done));
}

void etcd_client::revoke(int64_t id, callback<bool> done) {
  core::json_writer w;
  w.begin_object().key("ID").value(std::to_string(id)).end_object();
  post("/v3/lease/revoke", std::move(w).str(), reader<bool>(done, [](element) { return true; }),
       failer(done));
}

} // namespace sy::cluster
