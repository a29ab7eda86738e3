# Compiler flags of a fuzz build (SWITCHYARD_FUZZ=ON): every library is
# instrumented for libFuzzer's coverage and checked by AddressSanitizer and
# UndefinedBehaviorSanitizer; only the targets in tests/fuzz link libFuzzer
# (switchyard_fuzz_target), since it brings its own main().
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SWITCHYARD_FUZZ needs clang (libFuzzer): configure with "
                      "CC=clang CXX=clang++, got ${CMAKE_CXX_COMPILER_ID}")
endif()

# Any undefined behaviour aborts, so that libFuzzer keeps the input as a crash.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                    -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)

# switchyard_fuzz_target(<name> SOURCES ... DEPS ...)
# Makes the libFuzzer binary fuzz_<name> from one file defining LLVMFuzzerTestOneInput.
function(switchyard_fuzz_target name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(fuzz_${name} ${arg_SOURCES})
  target_link_libraries(fuzz_${name} PRIVATE ${arg_DEPS})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
endfunction()
