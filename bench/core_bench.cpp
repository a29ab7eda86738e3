// The domain core's hot paths: parsing, matching, signing.
// Figures, not pass/fail: see docs/performance.md for how to read them.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include <simdjson.h>

#include "core/acoustic_codec.hpp"
#include "core/native_codec.hpp"
#include "core/signing.hpp"
#include "core/subscription_index.hpp"

using namespace sy::core;

namespace {

std::string native_event(int i) {
  return R"({"type":"re.notifica.event.custom.Purchase","country":"NO","timestamp":1421656451382,"id":"order-)" +
         std::to_string(i) +
         R"(","data":{"id":"54ac46e8b2e39ca0","deviceID":"09260d8b1de06948c516a","userID":"support@notifica.re","total":125.53,"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}})";
}

void parse(benchmark::State& state, const std::string& body) {
  std::string buf;
  std::size_t events = 0;
  for (auto _ : state) {
    buf = body; // the codec pads in place; a fresh copy per iteration, as a request would be
    auto r = decode_native_events(buf, 0);
    if (!r) {
      state.SkipWithError(r.error().what().c_str());
      break;
    }
    events += r->events.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsRate);
}

void BM_parse_native_single(benchmark::State& state) { parse(state, native_event(1)); }
BENCHMARK(BM_parse_native_single);

std::string native_batch_100() {
  std::string body = "[";
  for (int i = 0; i < 100; ++i)
    body += (i ? "," : "") + native_event(i);
  body += "]";
  return body;
}

void BM_parse_native_batch_100(benchmark::State& state) { parse(state, native_batch_100()); }
BENCHMARK(BM_parse_native_batch_100);

// The same-run baseline of the batch parse (scripts/bench P1): simdjson's
// DOM parser validating the same bytes and building its tape, with no field
// checks and no copies out.
void BM_simdjson_dom_batch_100(benchmark::State& state) {
  const std::string body = native_batch_100();
  simdjson::dom::parser parser;
  std::string buf;
  for (auto _ : state) {
    buf = body; // the same per-iteration copy as parse()
    auto doc = parser.parse(buf);
    if (doc.error()) {
      state.SkipWithError(simdjson::error_message(doc.error()));
      break;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_simdjson_dom_batch_100);

// The same batch with ~2 KB of data per event: nested objects and arrays,
// numbers of every form, literals, escapes and non-ASCII text, so that the
// check of pass-through data dominates.
void BM_parse_native_batch_100_large_data(benchmark::State& state) {
  std::string body = "[";
  for (int i = 0; i < 100; ++i) {
    std::string data =
      R"({"order":"order-)" + std::to_string(i) +
      R"(","customer":{"name":"Åse Ødegård","email":"ase@example.no","vip":true,"note":null},"lines":[)";
    for (int l = 0; l < 12; ++l)
      data += std::string(l ? "," : "") + R"({"sku":"SKU-)" + std::to_string(1000 + l) +
              R"(","title":"Widget \"deluxe\" \u00e9dition","qty":)" + std::to_string(l + 1) +
              R"(,"price":12.5e-1,"tags":["a","b\/c"],"gift":false})";
    data +=
      R"(],"total":-1234.5678,"text":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."})";
    body +=
      std::string(i ? "," : "") +
      R"({"type":"re.notifica.event.custom.Purchase","country":"NO","timestamp":1421656451382,"id":"order-)" +
      std::to_string(i) + R"(","data":)" + data + "}";
  }
  body += "]";
  parse(state, body);
}
BENCHMARK(BM_parse_native_batch_100_large_data);

// An Acoustic compound batch: 10 identifier groups of 10 events, each with
// three typed attributes checked against the registered event type.
void BM_parse_acoustic_compound_100(benchmark::State& state) {
  event_type_def cart;
  cart.code = "cartPurchase";
  cart.name = "Cart purchase";
  cart.ns = "acme";
  cart.attributes = {{"orderTotal", "number"}, {"paid", "boolean"}, {"sku", "string"}};
  event_type_lookup lookup = [&](std::string_view code) -> const event_type_def* {
    return code == cart.code ? &cart : nullptr;
  };
  std::string body = R"({"provider":"Acoustic","channel":"mobile","eventbatch":[)";
  for (int b = 0; b < 10; ++b) {
    body += std::string(b ? "," : "") + R"({"identifiers":[{"name":"email","value":"user)" +
            std::to_string(b) + R"(@example.com"}],"events":[)";
    for (int i = 0; i < 10; ++i)
      body += std::string(i ? "," : "") +
              R"({"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z","attributes":[)"
              R"({"name":"orderTotal","value":"125.53"},{"name":"paid","value":"true"},)"
              R"({"name":"sku","value":"A-)" +
              std::to_string(i) + R"("}]})";
    body += "]}";
  }
  body += "]}";
  std::string buf;
  std::size_t events = 0;
  for (auto _ : state) {
    buf = body;
    auto r = decode_acoustic_events(buf, lookup, 0);
    if (!r)
      state.SkipWithError(r.error().what().c_str());
    events += r->events.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_parse_acoustic_compound_100);

// Mixed patterns as a multi-tenant deployment has them: each tenant's
// subscriptions name its own namespace (70 % exact types, 20 % one-segment
// wildcards, 9 % tenant-wide '**'), 1 % watch a shared namespace; a quarter
// filter on a country.
std::vector<index_entry> mixed_subscriptions(std::size_t n) {
  std::mt19937 rng(7);
  const char* areas[] = {"order", "cart", "user", "device", "region", "beacon", "pass"};
  const std::size_t tenants = std::max<std::size_t>(1, n / 10);
  std::vector<index_entry> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    index_entry e;
    e.id = "sub" + std::to_string(i);
    std::string tenant = "t" + std::to_string(rng() % tenants);
    std::string area = areas[rng() % 7];
    auto r = rng() % 100;
    if (r < 70)
      e.patterns = {tenant + "." + area + ".E" + std::to_string(rng() % 10)};
    else if (r < 90)
      e.patterns = {tenant + "." + area + ".*"};
    else if (r < 99)
      e.patterns = {tenant + ".**"};
    else
      e.patterns = {"re.notifica.event.custom.*"};
    if (rng() % 4 == 0)
      e.country = rng() % 2 ? "NO" : "GB";
    out.push_back(std::move(e));
  }
  return out;
}

void BM_match(benchmark::State& state) {
  subscription_index idx(mixed_subscriptions(static_cast<std::size_t>(state.range(0))));
  std::vector<uint32_t> out;
  const std::string types[] = {"t3.order.E1", "re.notifica.event.custom.Purchase", "t7.device.E4",
                               "t1.region.E9"};
  std::size_t i = 0, matched = 0;
  for (auto _ : state) {
    idx.match(types[i++ & 3], "NO", out);
    matched += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["matches/event"] = static_cast<double>(matched) /
                                    static_cast<double>(state.iterations());
}
BENCHMARK(BM_match)->Arg(10)->Arg(1000)->Arg(100000);

// Start-up adds every stored subscription to the index, one at a time as
// the registry does (a copy of each entry), then publishes it once (issue 11).
void build_index_of(benchmark::State& state, const std::vector<index_entry>& entries) {
  for (auto _ : state) {
    index_builder b;
    for (const auto& e : entries)
      b.add(e);
    auto idx = b.snapshot();
    benchmark::DoNotOptimize(idx.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * entries.size()));
}

void BM_index_build(benchmark::State& state) {
  build_index_of(state, mixed_subscriptions(static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_index_build)->Arg(100000)->Unit(benchmark::kMillisecond);

// The same, added in pattern order (as the registry loads them since issue 11).
void BM_index_build_sorted(benchmark::State& state) {
  auto entries = mixed_subscriptions(static_cast<std::size_t>(state.range(0)));
  std::sort(entries.begin(), entries.end(),
            [](const index_entry& a, const index_entry& b) { return a.patterns < b.patterns; });
  build_index_of(state, entries);
}
BENCHMARK(BM_index_build_sorted)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_sign_300_bytes(benchmark::State& state) {
  auto keys = generate_keys();
  std::string body(300, 'x');
  for (auto _ : state) {
    auto a = notificare_signature(keys.private_key, body);
    auto b = standard_webhooks_signature(keys.private_key, "msg_1", 1700000000, body);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_sign_300_bytes);

} // namespace
