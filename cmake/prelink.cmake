# cmake -P prelink.cmake: the engine library as one relocatable object, from which
# cmake/package.cmake makes both libringload.so and libringload.a.
#
#   -DLD= -DOBJCOPY= -DNM= -DREADELF=   the binutils
#   -DOUTPUT=                the object to write
#   -DWHOLE=a;b              archives taken whole (the engine, the parsers)
#   -DBUNDLE=x               optional: an archive taken as far as the others need it (the
#                            fast wolfSSL build), its symbols made local
#
# `ld -r` links the archives into one object; objcopy then makes local every hidden
# symbol that is not weak (the engine is compiled with -fvisibility=hidden: only
# RINGLOAD_API stays global) and every symbol of the bundled archive. So neither library
# exports wolfSSL (fe_mul, sha, Base64_Decode, SSL_* ...): a program may link another
# wolfSSL or OpenSSL beside it, and the engine keeps the build whose options.h it was
# compiled against. Weak hidden symbols stay: they name COMDAT groups (inline functions,
# template instances) that a program's own objects may hold too; the linker keeps one
# copy of each group, which it cannot do once the name is local.
cmake_minimum_required(VERSION 3.25)
foreach(var LD OBJCOPY NM READELF OUTPUT WHOLE)
  if(NOT ${var})
    message(FATAL_ERROR "prelink: ${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "prelink: ${cmd}\n${out}${err}")
  endif()
endfunction()

set(linked "${OUTPUT}.r.o")
run(${LD} -r -o ${linked} --whole-archive ${WHOLE} --no-whole-archive ${BUNDLE})

# readelf -sW: "Num: Value Size Type Bind Vis Ndx Name" per symbol.
execute_process(COMMAND ${READELF} -sW ${linked} RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "prelink: readelf ${linked}: ${err}")
endif()
string(REGEX MATCHALL "[^\n]+ GLOBAL HIDDEN +[0-9]+ [^\n]+" hidden "${table}")
list(TRANSFORM hidden REPLACE ".* GLOBAL HIDDEN +[0-9]+ " "")
list(JOIN hidden "\n" symbols)
if(BUNDLE)
  execute_process(COMMAND ${NM} -g --defined-only --format=posix ${BUNDLE}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE bundled ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "prelink: nm ${BUNDLE}: ${err}")
  endif()
  # posix format: "name type value size" per symbol, "archive[member]:" headers between.
  string(REGEX REPLACE "[^\n]*\\]:\n" "" bundled "${bundled}")
  string(REGEX REPLACE " [^\n]*" "" bundled "${bundled}")
  string(APPEND symbols "\n${bundled}")
endif()
file(WRITE "${OUTPUT}.local-symbols" "${symbols}\n")
run(${OBJCOPY} --localize-symbols=${OUTPUT}.local-symbols ${linked} ${OUTPUT})
file(REMOVE ${linked})
