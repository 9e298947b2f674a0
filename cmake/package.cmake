# The installable engine: libringload.so and libringload.a, the CMake package
# (find_package(ringload CONFIG)), ringload.pc and ringload-static.pc, the public headers
# and the two binaries. Included by the top-level CMakeLists once its targets exist.
#
#   ringload::engine         libringload.so. Self-contained: the engine, its parsers and
#                            (fast build) wolfSSL are inside, only RINGLOAD_API is exported;
#                            a consumer links nothing else.
#   ringload::engine_static  libringload.a: the same code as one object; a consumer also
#                            links liburing, zlib, simdjson, libm and pthreads (the package finds
#                            them), and the system wolfSSL when the fast build is absent.
#
# Both are made from one relocatable object (cmake/prelink.cmake), so the engine is
# compiled once. The same two names work in a project that add_subdirectory()s ringload.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(RINGLOAD_INSTALL "Install the engine library, its headers, the package files and the binaries"
       ${PROJECT_IS_TOP_LEVEL})

set(_prelinked ${PROJECT_BINARY_DIR}/ringload_prelinked.o)
set(_bundle "")
set(_bundle_note "")
set(RINGLOAD_PACKAGE_BUNDLED OFF)
if(RINGLOAD_WOLFSSL_ARCHIVE)
  set(_bundle -DBUNDLE=${RINGLOAD_WOLFSSL_ARCHIVE})
  set(_bundle_note " and wolfSSL")
  set(RINGLOAD_PACKAGE_BUNDLED ON)
endif()
add_custom_command(
  OUTPUT ${_prelinked}
  COMMAND ${CMAKE_COMMAND} -DLD=${CMAKE_LINKER} -DOBJCOPY=${CMAKE_OBJCOPY} -DNM=${CMAKE_NM} -DREADELF=${CMAKE_READELF}
          -DOUTPUT=${_prelinked} "-DWHOLE=$<TARGET_FILE:ringload_engine>$<SEMICOLON>$<TARGET_FILE:ringload_proto>"
          ${_bundle} -P ${PROJECT_SOURCE_DIR}/cmake/prelink.cmake
  DEPENDS ringload_engine ringload_proto ${RINGLOAD_WOLFSSL_ARCHIVE} ${PROJECT_SOURCE_DIR}/cmake/prelink.cmake
  COMMENT "Prelinking the engine, its parsers${_bundle_note} into one object"
  VERBATIM)
add_custom_target(ringload_prelink DEPENDS ${_prelinked})
set_source_files_properties(${_prelinked} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)

add_library(ringload_engine_shared SHARED ${_prelinked})
add_library(ringload_engine_static STATIC ${_prelinked})
add_library(ringload::engine ALIAS ringload_engine_shared)
add_library(ringload::engine_static ALIAS ringload_engine_static)
foreach(lib ringload_engine_shared ringload_engine_static)
  add_dependencies(${lib} ringload_prelink)
  target_include_directories(${lib} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${lib} INTERFACE cxx_std_23)
endforeach()
set_target_properties(ringload_engine_shared PROPERTIES
  OUTPUT_NAME ringload EXPORT_NAME engine LINKER_LANGUAGE CXX
  # 0.x: any minor release may change the ABI.
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
set_target_properties(ringload_engine_static PROPERTIES
  OUTPUT_NAME ringload EXPORT_NAME engine_static LINKER_LANGUAGE CXX)

# What the engine's code needs besides libstdc++ and libc. The shared library records
# them itself (-z defs: none may be missing); the static one hands them on. liburing, zlib and
# a system wolfSSL come from pkg-config, found again under these names by ringloadConfig.
set(_deps PkgConfig::URING PkgConfig::ZLIB PkgConfig::NGHTTP2 simdjson::simdjson Threads::Threads m)
set(_static_deps $<BUILD_INTERFACE:PkgConfig::URING> $<INSTALL_INTERFACE:PkgConfig::ringload_liburing>
    $<BUILD_INTERFACE:PkgConfig::ZLIB> $<INSTALL_INTERFACE:PkgConfig::ringload_zlib>
    $<BUILD_INTERFACE:PkgConfig::NGHTTP2> $<INSTALL_INTERFACE:PkgConfig::ringload_libnghttp2>
    simdjson::simdjson Threads::Threads m)
set(_pc_requires "liburing simdjson zlib libnghttp2")
set(RINGLOAD_PACKAGE_STATIC ON)
if(RINGLOAD_WOLFSSL_SYSTEM)
  list(APPEND _deps PkgConfig::WOLFSSL)
  list(APPEND _static_deps $<BUILD_INTERFACE:PkgConfig::WOLFSSL> $<INSTALL_INTERFACE:PkgConfig::ringload_wolfssl>)
  string(APPEND _pc_requires " wolfssl")
elseif(NOT RINGLOAD_WOLFSSL_ARCHIVE)
  # A shared fast build: the libraries link it where it lies; a consumer of the static
  # library could not be told to, so the package leaves it out.
  list(APPEND _deps ringload::wolfssl)
  list(APPEND _static_deps $<BUILD_INTERFACE:ringload::wolfssl>)
  set(RINGLOAD_PACKAGE_STATIC OFF)
  message(STATUS "ringload package: no ringload::engine_static (the fast wolfSSL build is shared only)")
endif()
# The sanitizers' runtime, when the engine was compiled with them (then the libraries are
# only built on request: the sanitizer build tests the engine, not the package).
target_link_libraries(ringload_engine_shared PRIVATE ${_deps} ringload_sanitizers)
target_link_libraries(ringload_engine_static INTERFACE $<BUILD_INTERFACE:ringload_sanitizers>)
if(RINGLOAD_SANITIZE)
  set_target_properties(ringload_engine_shared ringload_engine_static PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
target_link_options(ringload_engine_shared PRIVATE LINKER:-z,defs)
target_link_libraries(ringload_engine_static INTERFACE ${_static_deps})

if(NOT RINGLOAD_INSTALL)
  return()
endif()

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ringload)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ringload DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ringload ringload-target RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ringload_engine_shared EXPORT ringloadTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT ringloadTargets NAMESPACE ringload:: DESTINATION ${_cmake_dir})
if(RINGLOAD_PACKAGE_STATIC)
  install(TARGETS ringload_engine_static EXPORT ringloadStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT ringloadStaticTargets NAMESPACE ringload:: DESTINATION ${_cmake_dir})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ringloadConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/ringloadConfig.cmake INSTALL_DESTINATION ${_cmake_dir})
# 0.x: a minor release may break the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/ringloadConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/ringloadConfig.cmake
              ${PROJECT_BINARY_DIR}/package/ringloadConfigVersion.cmake DESTINATION ${_cmake_dir})

# pkg-config: paths relative to the .pc file, so the tree can be installed anywhere
# (cmake --install --prefix) and moved.
file(RELATIVE_PATH RINGLOAD_PC_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
set(RINGLOAD_PC_REQUIRES "${_pc_requires}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ringload.pc.in ${PROJECT_BINARY_DIR}/package/ringload.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/ringload.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(RINGLOAD_PACKAGE_STATIC)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/ringload-static.pc.in ${PROJECT_BINARY_DIR}/package/ringload-static.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/package/ringload-static.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
