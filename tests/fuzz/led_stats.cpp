// Fuzzes the reader of another node's stats answer (api/led_stats.hpp):
// what a list or the console's stream takes from each node that leads some
// of its subscriptions. Whatever it takes must be a JSON object, and must
// read the same once written back as that node would answer.

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/led_stats.hpp"
#include "core/json_writer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string node = "n2"; // the node that answered
  const std::string body(reinterpret_cast<const char*>(data), size);
  api::peer_stats taken;
  api::take_led_stats(node, body, taken);
  core::json_writer w;
  w.begin_array();
  for (const auto& [id, stats] : taken) {
    fuzz::check(!stats.empty() && stats.front() == '{', "taken stats are an object");
    fuzz::check(fuzz::json_grammar(stats).valid(), "taken stats are JSON");
    w.begin_object().key("id").value(id).key("primary").value(node).key("stats");
    w.raw(stats);
    w.end_object();
  }
  w.end_array();
  api::peer_stats again;
  api::take_led_stats(node, w.str(), again);
  fuzz::check(again == taken, "taken stats read the same once written back");
  // Another node's answer gives nothing of these.
  api::peer_stats other;
  api::take_led_stats("n3", w.str(), other);
  fuzz::check(other.empty(), "stats are taken only from the node that leads them");
  return 0;
}
