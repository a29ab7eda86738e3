// The default options of the sanitizer runtimes, linked into every executable
// of a SWITCHYARD_SANITIZE build (cmake/switchyard_sanitize.cmake). The
// runtimes call these before main(); ASAN_OPTIONS, UBSAN_OPTIONS and
// LSAN_OPTIONS given in the environment still override them key by key.
// Any report ends the process with a non-zero status: ctest sees it for the
// unit tests, the integration harness for the server it started.

#ifndef SWITCHYARD_LSAN_SUPPRESSIONS
#error "SWITCHYARD_LSAN_SUPPRESSIONS must name tests/lsan.supp"
#endif

// Uninstrumented and exported: the runtime calls them while it initialises.
#define SWITCHYARD_SANITIZER_HOOK                                                                  \
  extern "C" __attribute__((no_sanitize("address", "undefined"), used, visibility("default")))     \
  const char*

/// Returns AddressSanitizer's defaults: stop at the first error, look for leaks at
/// exit, and catch a global read before its constructor ran.
SWITCHYARD_SANITIZER_HOOK __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:check_initialization_order=1";
}

/// Returns UndefinedBehaviorSanitizer's defaults: stop at the first error, with a stack.
SWITCHYARD_SANITIZER_HOOK __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

/// Returns LeakSanitizer's defaults: the narrow suppressions of tests/lsan.supp.
SWITCHYARD_SANITIZER_HOOK __lsan_default_options() {
  return "suppressions=" SWITCHYARD_LSAN_SUPPRESSIONS ":print_suppressions=0";
}
