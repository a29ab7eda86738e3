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

# switchyard_embed_file(<target> INPUT <file> SYMBOL <name>)
# Embeds <file> in <target> at build time: a generated source defines
# `const std::string_view sy::embedded::<name>` holding its bytes (declare it
# `extern` where it is used). The source is regenerated when the file
# changes; no tool beyond CMake runs.
set(SWITCHYARD_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_file.cmake)
function(switchyard_embed_file target)
  cmake_parse_arguments(arg "" "INPUT;SYMBOL" "" ${ARGN})
  if(NOT arg_INPUT OR NOT arg_SYMBOL)
    message(FATAL_ERROR "switchyard_embed_file: INPUT and SYMBOL are required")
  endif()
  get_filename_component(input "${arg_INPUT}" ABSOLUTE)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/embedded/${arg_SYMBOL}.cpp)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${output} -DSYMBOL=${arg_SYMBOL}
            -P ${SWITCHYARD_EMBED_SCRIPT}
    DEPENDS ${input} ${SWITCHYARD_EMBED_SCRIPT}
    COMMENT "Embedding ${arg_INPUT} as sy::embedded::${arg_SYMBOL}"
    VERBATIM)
  target_sources(${target} PRIVATE ${output})
endfunction()
