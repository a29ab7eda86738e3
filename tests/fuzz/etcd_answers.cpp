// Fuzzes the readers of etcd's answers that carry keys
// (cluster/etcd_decode.hpp): a /v3/kv/range page (cluster/etcd_client.cpp
// reads every prefix through it) and one line of a /v3/watch stream
// (cluster/etcd_watch.cpp). The first byte picks one. What either reads
// must read the same once written back in etcd's own form.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cluster/etcd_decode.hpp"
#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

// As the gateway writes a key: bytes in base64, int64 as strings.
void write_kv(core::json_writer& w, const cluster::etcd_kv& kv) {
  w.begin_object()
    .key("key")
    .value(core::base64_encode(kv.key))
    .key("value")
    .value(core::base64_encode(kv.value))
    .key("create_revision")
    .value(std::to_string(kv.create_revision))
    .key("mod_revision")
    .value(std::to_string(kv.mod_revision))
    .key("version")
    .value(std::to_string(kv.version))
    .key("lease")
    .value(std::to_string(kv.lease))
    .end_object();
}

void range_page(const std::string& body) {
  auto page = cluster::read_range_page(body);
  if (!page) {
    fuzz::check(page.error().status == 200, "an unreadable answer is reported as status 200");
    fuzz::check(!page.error().message.empty(), "an unreadable answer says why");
    return;
  }
  core::json_writer w;
  w.begin_object().key("header").begin_object();
  w.key("revision").value(std::to_string(page->range.revision)).end_object();
  w.key("kvs").begin_array();
  for (const auto& kv : page->range.kvs)
    write_kv(w, kv);
  w.end_array().key("more").value(page->more).end_object();
  auto again = cluster::read_range_page(std::move(w).str());
  fuzz::check(bool(again), "a page written back reads again");
  fuzz::check(again->range.revision == page->range.revision && again->more == page->more &&
                again->range.kvs == page->range.kvs,
              "a page written back reads the same");
}

void watch_line(const std::string& line) {
  auto msg = cluster::parse_watch_line(line);
  if (!msg.error.empty())
    return; // the watch reopens the stream; nothing of the line is used
  core::json_writer w;
  w.begin_object().key("result").begin_object();
  w.key("created").value(msg.created).key("canceled").value(msg.canceled);
  w.key("compact_revision").value(std::to_string(msg.compact_revision));
  w.key("events").begin_array();
  for (const auto& e : msg.events) {
    w.begin_object().key("type").value(e.deleted ? "DELETE" : "PUT").key("kv");
    write_kv(w, e.kv);
    w.end_object();
  }
  w.end_array().end_object().end_object();
  auto again = cluster::parse_watch_line(std::move(w).str());
  fuzz::check(again.error.empty(), "a watch message written back reads again");
  fuzz::check(again.created == msg.created && again.canceled == msg.canceled &&
                again.compact_revision == msg.compact_revision && again.events == msg.events,
              "a watch message written back reads the same");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
    range_page(body);
  else
    watch_line(body);
  return 0;
}
