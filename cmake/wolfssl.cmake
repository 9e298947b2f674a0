# Placeholder until the TLS work lands: the system wolfSSL.
pkg_check_modules(WOLFSSL REQUIRED IMPORTED_TARGET wolfssl)
add_library(ringload::wolfssl INTERFACE IMPORTED)
target_link_libraries(ringload::wolfssl INTERFACE PkgConfig::WOLFSSL)
