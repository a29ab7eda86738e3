# SWITCHYARD_SANITIZE (e.g. "address,undefined"): every library, the app, the
# tests and the benches are compiled and linked with -fsanitize=<value>, and
# any undefined behaviour stops the process instead of printing and going on.
if(SWITCHYARD_SANITIZE)
  set(switchyard_sanitize_flags -fsanitize=${SWITCHYARD_SANITIZE} -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
  add_compile_options(${switchyard_sanitize_flags})
  add_link_options(${switchyard_sanitize_flags})
endif()

# switchyard_sanitize_executables(<dir>)
# Adds tests/sanitizer_options.cpp (the runtimes' default options: halt on the
# first report, leak suppressions) to every executable defined in <dir> and
# below, so that a binary reports the same way under ctest, run by hand, or
# started by the integration harness. Does nothing without SWITCHYARD_SANITIZE.
function(switchyard_sanitize_executables dir)
  if(NOT SWITCHYARD_SANITIZE)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/sanitizer_options.cpp)
      set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/sanitizer_options.cpp
        TARGET_DIRECTORY ${target} PROPERTIES COMPILE_DEFINITIONS
        SWITCHYARD_LSAN_SUPPRESSIONS="${PROJECT_SOURCE_DIR}/tests/lsan.supp")
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    switchyard_sanitize_executables(${subdir})
  endforeach()
endfunction()
