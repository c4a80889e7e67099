# The libraries the attn library links, as imported targets attn::<name>.
# Used by the build and, installed beside attnConfig.cmake, by consumers of
# the static library. ATTN_DEPENDENCY_LIBRARIES names them.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
foreach(attn_dependency IN LISTS ATTN_DEPENDENCY_LIBRARIES)
  if(NOT TARGET attn::${attn_dependency})
    find_library(ATTN_${attn_dependency}_LIBRARY NAMES ${attn_dependency})
    if(NOT ATTN_${attn_dependency}_LIBRARY)
      set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
      set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
          "attn needs lib${attn_dependency}; on Debian 12 install its -dev package (see scripts/install-deps.sh)")
      return()
    endif()
    add_library(attn::${attn_dependency} UNKNOWN IMPORTED)
    set_target_properties(attn::${attn_dependency} PROPERTIES IMPORTED_LOCATION "${ATTN_${attn_dependency}_LIBRARY}")
  endif()
endforeach()
