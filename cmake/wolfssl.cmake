# Defines ringload::wolfssl, and for the package (cmake/package.cmake):
#   RINGLOAD_WOLFSSL_ARCHIVE  the fast build's static archive, bundled into libringload
#   RINGLOAD_WOLFSSL_SYSTEM   ON: the system library (pkg-config wolfssl), linked instead
#
# Debian's libwolfssl is portable C (AES-128-GCM ~130 MB/s here): tools/build_wolfssl.sh
# rebuilds the same source package with AES-NI into third_party/wolfssl-install (GB/s).
# That build is used when present; otherwise the system library, and the binary is told
# so (RINGLOAD_WOLFSSL_SLOW=1) to warn at start-up. RINGLOAD_SYSTEM_WOLFSSL=ON forces the
# system library.
option(RINGLOAD_SYSTEM_WOLFSSL "Use the system wolfSSL even when the fast build exists" OFF)

if(DEFINED ENV{RINGLOAD_WOLFSSL_PREFIX} AND NOT RINGLOAD_WOLFSSL_PREFIX)
  set(RINGLOAD_WOLFSSL_PREFIX "$ENV{RINGLOAD_WOLFSSL_PREFIX}")
endif()
set(RINGLOAD_WOLFSSL_PREFIX "${RINGLOAD_WOLFSSL_PREFIX}" CACHE PATH
    "Install prefix of the fast wolfSSL build (default: third_party/wolfssl-install)")
if(RINGLOAD_WOLFSSL_PREFIX)
  set(_wolfssl_prefix "${RINGLOAD_WOLFSSL_PREFIX}")
else()
  set(_wolfssl_prefix "${PROJECT_SOURCE_DIR}/third_party/wolfssl-install")
endif()

add_library(ringload::wolfssl INTERFACE IMPORTED)
set(RINGLOAD_WOLFSSL_ARCHIVE "")
set(RINGLOAD_WOLFSSL_SYSTEM OFF)

set(_wolfssl_static "${_wolfssl_prefix}/lib/libwolfssl.a")
set(_wolfssl_shared "${_wolfssl_prefix}/lib/libwolfssl.so")
set(_wolfssl_options "${_wolfssl_prefix}/include/wolfssl/options.h")
if(NOT RINGLOAD_SYSTEM_WOLFSSL AND EXISTS "${_wolfssl_options}"
   AND (EXISTS "${_wolfssl_static}" OR EXISTS "${_wolfssl_shared}"))
  # Static first: the binary then carries its crypto and runs anywhere. A shared build
  # gets an rpath so it is found without LD_LIBRARY_PATH.
  if(EXISTS "${_wolfssl_static}")
    set(_wolfssl_lib "${_wolfssl_static}")
    set(RINGLOAD_WOLFSSL_ARCHIVE "${_wolfssl_static}")
    # What the archive itself needs (libwolfssl.la's dependency_libs: -lm, pthreads).
    set(_wolfssl_deps m Threads::Threads)
  else()
    set(_wolfssl_lib "${_wolfssl_shared}")
    set(_wolfssl_deps "")
    target_link_options(ringload::wolfssl INTERFACE "LINKER:-rpath,${_wolfssl_prefix}/lib")
  endif()
  # BEFORE: these headers must win over /usr/include/wolfssl, whose options.h describes
  # the other library.
  target_include_directories(ringload::wolfssl BEFORE INTERFACE "${_wolfssl_prefix}/include")
  target_link_libraries(ringload::wolfssl INTERFACE "${_wolfssl_lib}" ${_wolfssl_deps})
  target_compile_definitions(ringload::wolfssl INTERFACE RINGLOAD_WOLFSSL_FAST=1)
  message(STATUS "wolfSSL: fast build (AES-NI) ${_wolfssl_lib}")
else()
  pkg_check_modules(WOLFSSL REQUIRED IMPORTED_TARGET wolfssl)
  set(RINGLOAD_WOLFSSL_SYSTEM ON)
  target_link_libraries(ringload::wolfssl INTERFACE PkgConfig::WOLFSSL)
  target_compile_definitions(ringload::wolfssl INTERFACE RINGLOAD_WOLFSSL_SLOW=1)
  if(RINGLOAD_SYSTEM_WOLFSSL)
    message(STATUS "wolfSSL: system library ${WOLFSSL_VERSION} (RINGLOAD_SYSTEM_WOLFSSL=ON)")
  else()
    message(STATUS "wolfSSL: system library ${WOLFSSL_VERSION}, portable C (~130 MB/s "
                   "AES-GCM); run tools/build_wolfssl.sh for the AES-NI build")
  endif()
endif()
