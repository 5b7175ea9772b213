# Installs the build tree into a scratch prefix, then configures, builds and runs the consumer.
set(PREFIX ${BUILD}/consumer-prefix)
set(CBUILD ${BUILD}/consumer-build)
file(REMOVE_RECURSE ${PREFIX} ${CBUILD})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX}
  RESULT_VARIABLE r OUTPUT_QUIET)
if(r)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/tests/cpp/consumer -B ${CBUILD} -G Ninja
  "-DCMAKE_PREFIX_PATH=${PREFIX};${TORCH_DIR}/../../.." -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "configuring the consumer failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${CBUILD} RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "building the consumer failed")
endif()
execute_process(COMMAND ${CBUILD}/consumer RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "the consumer failed")
endif()

# The installed tool runs by its install RPATH alone (no LD_LIBRARY_PATH).
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH
  ${PREFIX}/bin/dsla solve poisson2d:16 --method cg RESULT_VARIABLE r OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(r)
  message(FATAL_ERROR "the installed bin/dsla failed (${r}): ${out}${err}")
endif()

# pkg-config: the same consumer built with `c++ main.cpp $(pkg-config --cflags --libs dsla)`.
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found (apt-get install pkg-config)")
endif()
if(NOT EXISTS ${PREFIX}/lib/pkgconfig/dsla.pc)
  message(FATAL_ERROR "no lib/pkgconfig/dsla.pc in the install tree")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${PREFIX}/lib/pkgconfig
  ${PKG_CONFIG} --cflags --libs dsla OUTPUT_VARIABLE pc OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "pkg-config --cflags --libs dsla failed")
endif()
separate_arguments(pc UNIX_COMMAND "${pc}")
find_program(CCACHE ccache)
if(NOT CCACHE)
  set(CCACHE "")
endif()
execute_process(COMMAND ${CCACHE} c++ ${SRC}/tests/cpp/consumer/main.cpp ${pc}
  -o ${CBUILD}/consumer-pc RESULT_VARIABLE r ERROR_VARIABLE err)
if(r)
  message(FATAL_ERROR "building the consumer with pkg-config failed: ${err}")
endif()
execute_process(COMMAND ${CBUILD}/consumer-pc RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "the pkg-config consumer failed")
endif()
