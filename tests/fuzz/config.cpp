// Fuzzes the TOML configuration (app/config.hpp load_config_text, which
// load_config_file's parse mirrors), then the cross-key checks.

#include <cstddef>
#include <cstdint>
#include <string>

#include "app/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  app::config c;
  if (auto err = app::load_config_text(text, "fuzz.toml", c)) {
    fuzz::check(err->message.rfind("fuzz.toml", 0) == 0, "an error names the source");
    return 0;
  }
  fuzz::check(c.max_body_bytes >= 1024 && c.max_header_bytes >= 1024, "limits within range");
  fuzz::check(c.multiplier >= 1.0 && c.multiplier <= 100.0, "the multiplier within range");
  fuzz::check(c.max_age_ms >= 1000, "retry.max_age at least a second");
  (void)app::validate_config(c);
  (void)app::split_host_port(c.listen);
  return 0;
}
