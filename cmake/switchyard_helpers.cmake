# switchyard_library(<folder> SOURCES ... DEPS ...)
# Makes the static library switchyard_<folder> with the alias switchyard::<folder>.
# Includes are written from the repository root ("core/event.hpp").
function(switchyard_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(switchyard_${name} STATIC ${arg_SOURCES})
  add_library(switchyard::${name} ALIAS switchyard_${name})
  target_include_directories(switchyard_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(switchyard_${name} PUBLIC ${arg_DEPS} PRIVATE ${arg_PRIVATE_DEPS})
endfunction()

# switchyard_test(<name> SOURCES ... DEPS ...)
# Makes one gtest binary and registers each of its tests with CTest.
function(switchyard_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
endfunction()
