# Included by tests/CMakeLists.txt in a cross build (CMAKE_CROSSCOMPILING).
#
# CTest runs the test executables through CMAKE_CROSSCOMPILING_EMULATOR by
# itself, but some tests start the build's programs on their own: cli_test.sh
# runs attn-convert, attn-infer and the C example from the build tree, and
# test_corruption runs attn-convert through std::system. The host cannot
# execute aarch64 binaries (no binfmt_misc registration is assumed), so those
# tests get wrappers: small shell scripts, laid out like the build tree under
# <build>/emulated, that run each program through the emulator.
#
# Sets ATTN_CLI_BUILD_DIR, the build folder cli_test.sh should use.

if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  message(WARNING "Cross build without CMAKE_CROSSCOMPILING_EMULATOR: the tests cannot run on this machine")
  set(ATTN_CLI_BUILD_DIR ${CMAKE_BINARY_DIR})
  return()
endif()

set(ATTN_EMULATED_DIR ${CMAKE_BINARY_DIR}/emulated)
set(ATTN_CLI_BUILD_DIR ${ATTN_EMULATED_DIR})

set(_attn_emulator "")
foreach(_arg IN LISTS CMAKE_CROSSCOMPILING_EMULATOR)
  string(APPEND _attn_emulator "'${_arg}' ")
endforeach()

# <build>/emulated/<path> runs the binary at <build>/<path> under the
# emulator, for every executable of every folder configured so far.
function(_attn_emulated_wrappers dir)
  get_property(_bindir DIRECTORY ${dir} PROPERTY BINARY_DIR)
  file(RELATIVE_PATH _rel ${CMAKE_BINARY_DIR} ${_bindir})
  get_property(_targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_type ${_target} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      file(GENERATE OUTPUT ${ATTN_EMULATED_DIR}/${_rel}/$<TARGET_FILE_NAME:${_target}>
           CONTENT "#!/bin/sh\n# ${_target} built for ${CMAKE_SYSTEM_PROCESSOR}, run through the emulator.\nexec ${_attn_emulator}'$<TARGET_FILE:${_target}>' \"$@\"\n"
           FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    endif()
  endforeach()
  get_property(_subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _subdirs)
    _attn_emulated_wrappers(${_sub})
  endforeach()
endfunction()
_attn_emulated_wrappers(${PROJECT_SOURCE_DIR})

# test_corruption names attn-convert at compile time: point it at the wrapper.
if(TARGET test_corruption AND TARGET attn-convert)
  get_target_property(_defs test_corruption COMPILE_DEFINITIONS)
  if(_defs)
    list(FILTER _defs EXCLUDE REGEX "^ATTN_CONVERT_BINARY=")
  else()
    set(_defs "")
  endif()
  list(APPEND _defs "ATTN_CONVERT_BINARY=\"${ATTN_EMULATED_DIR}/converter/attn-convert\"")
  set_property(TARGET test_corruption PROPERTY COMPILE_DEFINITIONS ${_defs})
endif()
