# Finds LibTorch (required), OpenMP, zlib, pybind11, GoogleTest, Google Benchmark, and the
# optional backends. Each optional backend sets DSLA_HAVE_<X> and a reason string for the summary;
# nothing is faked: a backend that is not found is off, and the summary says why.

# ---- LibTorch: Debian's (/usr), a pip wheel's named by CMAKE_PREFIX_PATH or Torch_DIR
# (torch.utils.cmake_prefix_path), or, in `pip install .` / `pip wheel .` (scikit-build-core sets
# SKBUILD and Python_EXECUTABLE), the torch of the Python that builds the wheel.
if(SKBUILD AND NOT Torch_DIR)
  # pip's build isolation hides the environment's site-packages from the build's interpreter
  # (PYTHONPATH with a sitecustomize, PYTHONNOUSERSITE). Ask the same interpreter without them,
  # so the extension is built against the torch it will be imported with, never a second one.
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONPATH --unset=PYTHONNOUSERSITE
            ${Python_EXECUTABLE} -c "import torch; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _dsla_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE _dsla_torch_err RESULT_VARIABLE _dsla_torch_rc)
  if(NOT _dsla_torch_rc EQUAL 0)
    message(FATAL_ERROR "dsla needs torch installed in the Python that runs pip "
      "(${Python_EXECUTABLE}), but 'import torch' failed there:\n${_dsla_torch_err}\n"
      "Install torch first (Debian: apt-get install python3-torch, and make the venv with "
      "--system-site-packages; else pip install torch), then build with "
      "'pip install --no-build-isolation .'")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_dsla_torch_prefix}")
endif()
find_package(Torch REQUIRED)
set(DSLA_TORCH_VERSION "${Torch_VERSION}")
get_filename_component(TORCH_INSTALL_PREFIX "${TORCH_INCLUDE_DIRS}" DIRECTORY)
list(GET TORCH_INCLUDE_DIRS 0 _dsla_torch_inc)
get_filename_component(TORCH_INSTALL_PREFIX "${_dsla_torch_inc}" DIRECTORY)
find_library(TORCH_PYTHON_LIBRARY torch_python
  HINTS "${TORCH_INSTALL_PREFIX}/lib" /usr/lib/x86_64-linux-gnu)

find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)

if(DSLA_BUILD_PYTHON)
  # Debian's interpreter is the one with torch on CPU machines; on the GPU machine, the PATH one.
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3 AND NOT DEFINED ENV{DSLA_PYTHON})
    execute_process(COMMAND /usr/bin/python3 -c "import torch" RESULT_VARIABLE _dsla_sys_torch
      OUTPUT_QUIET ERROR_QUIET)
    if(_dsla_sys_torch EQUAL 0)
      set(Python3_EXECUTABLE /usr/bin/python3)
    endif()
  endif()
  if(DEFINED ENV{DSLA_PYTHON})
    set(Python3_EXECUTABLE $ENV{DSLA_PYTHON})
  endif()
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module)
  # pybind11's FindPython mode calls python_add_library (module FindPython, not FindPython3):
  # find the same interpreter under that name too (needed with CMake 4 + pip's pybind11).
  set(Python_EXECUTABLE ${Python3_EXECUTABLE})
  find_package(Python REQUIRED COMPONENTS Interpreter Development.Module)
  set(PYBIND11_FINDPYTHON ON)
  find_package(pybind11 CONFIG QUIET)
  if(NOT pybind11_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import pybind11; print(pybind11.get_cmake_dir())"
      OUTPUT_VARIABLE _dsla_pybind_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    find_package(pybind11 CONFIG REQUIRED HINTS "${_dsla_pybind_dir}")
  endif()
endif()

if(DSLA_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    # Machines without a packaged GoogleTest (the GPU machine): build it from source, e.g. Debian's
    # libgtest-dev sources carried along. Never downloaded.
    set(DSLA_GTEST_SOURCE_DIR "" CACHE PATH "GoogleTest source tree to build when none is installed")
    foreach(_g ${DSLA_GTEST_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/third_party/googletest /usr/src/googletest)
      if(EXISTS "${_g}/CMakeLists.txt")
        set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
        set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
        add_subdirectory(${_g} ${CMAKE_BINARY_DIR}/_googletest EXCLUDE_FROM_ALL)
        break()
      endif()
    endforeach()
    if(NOT TARGET gtest_main)
      message(FATAL_ERROR "GoogleTest not found: install it, or set DSLA_GTEST_SOURCE_DIR to its sources")
    endif()
    if(NOT TARGET GTest::gtest_main)
      add_library(GTest::gtest_main ALIAS gtest_main)
      add_library(GTest::gtest ALIAS gtest)
    endif()
    message(STATUS "dsla: GoogleTest built from source")
  endif()
endif()
if(DSLA_BUILD_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    message(STATUS "dsla: Google Benchmark not found: C++ benchmarks are not built")
  endif()
endif()

# ---- CUDA: needs nvcc AND a LibTorch built with CUDA (kernels are launched on torch's streams).
set(DSLA_HAVE_CUDA OFF)
set(DSLA_CUDA_WHY "DSLA_WITH_CUDA=OFF")
if(NOT DSLA_WITH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  set(_dsla_torch_cuda OFF)
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
    set(_dsla_torch_cuda ON)
  endif()
  if(CMAKE_CUDA_COMPILER AND _dsla_torch_cuda)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # CMake adds nvcc's implicit link directories (from its host-compiler probe) to every C++ link
    # that pulls in CUDA objects. On the GPU image they include /opt/gcc/lib/..., which holds a
    # static libstdc++.a: g++'s own -lstdc++ then resolved to it and libdsla.so carried a private
    # copy of libstdc++ (its own locale facet ids; inside Python, `ostream << long` called a
    # codecvt facet: SIGSEGV in krylov::run). Keep only directories the C++ compiler already
    # searches or that belong to the CUDA toolkit.
    set(_dsla_cuda_dirs "")
    foreach(_d IN LISTS CMAKE_CUDA_IMPLICIT_LINK_DIRECTORIES)
      if(_d IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES OR _d MATCHES "/cuda")
        list(APPEND _dsla_cuda_dirs "${_d}")
      endif()
    endforeach()
    set(CMAKE_CUDA_IMPLICIT_LINK_DIRECTORIES "${_dsla_cuda_dirs}")
    set(DSLA_HAVE_CUDA ON)
    set(DSLA_CUDA_WHY "nvcc ${CMAKE_CUDA_COMPILER_VERSION}, sm_${DSLA_CUDA_ARCH}")
  elseif(NOT CMAKE_CUDA_COMPILER)
    set(DSLA_CUDA_WHY "no nvcc found")
  else()
    set(DSLA_CUDA_WHY "LibTorch ${Torch_VERSION} is built without CUDA")
  endif()
  if(DSLA_WITH_CUDA STREQUAL "ON" AND NOT DSLA_HAVE_CUDA)
    message(FATAL_ERROR "DSLA_WITH_CUDA=ON but CUDA is unavailable: ${DSLA_CUDA_WHY}")
  endif()
endif()

# ---- SuiteSparse (CHOLMOD + UMFPACK), Debian's libsuitesparse-dev.
set(DSLA_HAVE_SUITESPARSE OFF)
set(DSLA_SUITESPARSE_WHY "DSLA_WITH_SUITESPARSE=OFF")
if(NOT DSLA_WITH_GPL)
  if(DSLA_WITH_SUITESPARSE STREQUAL "ON")
    message(FATAL_ERROR "DSLA_WITH_SUITESPARSE=ON needs CHOLMOD and UMFPACK, which are GPL: "
      "drop -DDSLA_WITH_GPL=OFF, or set -DDSLA_WITH_SUITESPARSE=OFF")
  endif()
  set(DSLA_WITH_SUITESPARSE OFF)
  set(DSLA_SUITESPARSE_WHY "DSLA_WITH_GPL=OFF (CHOLMOD Supernodal and UMFPACK are GPL)")
endif()
if(NOT DSLA_WITH_SUITESPARSE STREQUAL "OFF")
  find_path(CHOLMOD_INCLUDE_DIR cholmod.h PATH_SUFFIXES suitesparse)
  find_library(CHOLMOD_LIBRARY cholmod)
  find_library(UMFPACK_LIBRARY umfpack)
  find_library(AMD_LIBRARY amd)
  find_library(COLAMD_LIBRARY colamd)
  find_library(SUITESPARSECONFIG_LIBRARY suitesparseconfig)
  # The BLAS / LAPACK that CHOLMOD uses: dsla's own supernodal kernel calls them too.
  find_library(DSLA_LAPACK_LIBRARY lapack)
  find_library(DSLA_BLAS_LIBRARY blas)
  if(CHOLMOD_INCLUDE_DIR AND CHOLMOD_LIBRARY AND UMFPACK_LIBRARY AND AMD_LIBRARY
     AND DSLA_LAPACK_LIBRARY AND DSLA_BLAS_LIBRARY)
    add_library(dsla::suitesparse INTERFACE IMPORTED)
    set_target_properties(dsla::suitesparse PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${CHOLMOD_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${UMFPACK_LIBRARY};${CHOLMOD_LIBRARY};${AMD_LIBRARY};${COLAMD_LIBRARY};${SUITESPARSECONFIG_LIBRARY};${DSLA_LAPACK_LIBRARY};${DSLA_BLAS_LIBRARY}")
    set(DSLA_HAVE_SUITESPARSE ON)
    set(DSLA_SUITESPARSE_WHY "${CHOLMOD_LIBRARY}")
  else()
    set(DSLA_SUITESPARSE_WHY "cholmod.h / libcholmod / libumfpack / liblapack / libblas not found (apt-get install libsuitesparse-dev libopenblas-dev)")
  endif()
  if(DSLA_WITH_SUITESPARSE STREQUAL "ON" AND NOT DSLA_HAVE_SUITESPARSE)
    message(FATAL_ERROR "DSLA_WITH_SUITESPARSE=ON: ${DSLA_SUITESPARSE_WHY}")
  endif()
endif()

# ---- METIS
set(DSLA_HAVE_METIS OFF)
set(DSLA_METIS_WHY "DSLA_WITH_METIS=OFF")
if(NOT DSLA_WITH_METIS STREQUAL "OFF")
  find_path(METIS_INCLUDE_DIR metis.h)
  find_library(METIS_LIBRARY metis)
  if(METIS_INCLUDE_DIR AND METIS_LIBRARY)
    add_library(dsla::metis INTERFACE IMPORTED)
    set_target_properties(dsla::metis PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${METIS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${METIS_LIBRARY}")
    set(DSLA_HAVE_METIS ON)
    set(DSLA_METIS_WHY "${METIS_LIBRARY}")
  else()
    set(DSLA_METIS_WHY "metis.h / libmetis not found (apt-get install libmetis-dev)")
  endif()
endif()

# ---- cuDSS: CUDSS_ROOT (CMake variable or environment) pointing at a folder with include/cudss.h
# and lib/libcudss.so[.N] -- e.g. PyPI's nvidia-cudss-cu13 wheel unpacked (its nvidia/cu13 folder),
# or a `.cudss/` folder at the repository root; else the system paths. The wheel ships only
# libcudss.so.1 (no unversioned symlink), so the versioned names are searched too.
set(DSLA_HAVE_CUDSS OFF)
set(DSLA_CUDSS_WHY "needs CUDA (${DSLA_CUDA_WHY})")
if(NOT DSLA_WITH_CUDSS STREQUAL "OFF" AND NOT DSLA_HAVE_CUDA)
  if(DSLA_WITH_CUDSS STREQUAL "ON")
    message(FATAL_ERROR "DSLA_WITH_CUDSS=ON but CUDA is off: ${DSLA_CUDA_WHY}")
  endif()
elseif(DSLA_WITH_CUDSS STREQUAL "OFF")
  set(DSLA_CUDSS_WHY "DSLA_WITH_CUDSS=OFF")
endif()
if(DSLA_HAVE_CUDA AND NOT DSLA_WITH_CUDSS STREQUAL "OFF")
  set(_cudss_hints ${CUDSS_ROOT} $ENV{CUDSS_ROOT} ${PROJECT_SOURCE_DIR}/.cudss
    ${PROJECT_SOURCE_DIR}/.cudss/nvidia/cu13 ${PROJECT_SOURCE_DIR}/.cudss/nvidia/cu12)
  find_path(CUDSS_INCLUDE_DIR cudss.h HINTS ${_cudss_hints} PATH_SUFFIXES include)
  find_library(CUDSS_LIBRARY NAMES cudss libcudss.so.1 libcudss.so.0
    HINTS ${_cudss_hints} PATH_SUFFIXES lib lib64)
  if(CUDSS_INCLUDE_DIR AND CUDSS_LIBRARY)
    file(STRINGS "${CUDSS_INCLUDE_DIR}/cudss.h" _cudss_ver REGEX "#define CUDSS_VERSION_(MAJOR|MINOR|PATCH) ")
    string(REGEX REPLACE ".*CUDSS_VERSION_MAJOR ([0-9]+).*" "\\1" _cudss_major "${_cudss_ver}")
    string(REGEX REPLACE ".*CUDSS_VERSION_MINOR ([0-9]+).*" "\\1" _cudss_minor "${_cudss_ver}")
    get_filename_component(_cudss_libdir "${CUDSS_LIBRARY}" DIRECTORY)
    add_library(dsla::cudss INTERFACE IMPORTED)
    # The wheel's libcudss.so.1 has no SONAME-less symlink: link the file by path; the rpath
    # lets libdsla find it (and its commlayer/mtlayer siblings) at run time. libcudss needs
    # libcublas.so.13 and libnvrtc.so.13 (its RPATH looks for them next to the wheel's
    # siblings): -rpath-link lets executables link against the toolkit's; at run time they come
    # from LD_LIBRARY_PATH (scripts/gpu-check.sh sets it) or from libraries already loaded.
    set_target_properties(dsla::cudss PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CUDSS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${CUDSS_LIBRARY}"
      INTERFACE_LINK_OPTIONS "LINKER:-rpath,${_cudss_libdir};LINKER:-rpath-link,${CUDAToolkit_LIBRARY_DIR}")
    set(DSLA_HAVE_CUDSS ON)
    set(DSLA_CUDSS_WHY "${_cudss_major}.${_cudss_minor}, ${CUDSS_LIBRARY}")
  else()
    set(DSLA_CUDSS_WHY "cudss.h / libcudss.so not found (set CUDSS_ROOT to an unpacked nvidia-cudss-cu13 wheel's nvidia/cu13 folder, or unpack it into .cudss/)")
  endif()
  if(DSLA_WITH_CUDSS STREQUAL "ON" AND NOT DSLA_HAVE_CUDSS)
    message(FATAL_ERROR "DSLA_WITH_CUDSS=ON: ${DSLA_CUDSS_WHY}")
  endif()
endif()

# ---- Gloo / c10d: part of LibTorch when built with distributed support. Constructing a Gloo
# group in C++ (Comm::gloo, Comm::from_env) needs Gloo's own headers too, which PyPI wheels of
# torch do not ship (seen: torch 2.11 + CUDA 13): then dsla takes its groups from Python only.
set(DSLA_HAVE_GLOO OFF)
set(DSLA_GLOO_WHY "LibTorch has no ProcessGroupGloo.hpp")
if(EXISTS "${_dsla_torch_inc}/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp")
  find_path(DSLA_GLOO_INCLUDE_DIR gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS})
  if(DSLA_GLOO_INCLUDE_DIR)
    set(DSLA_HAVE_GLOO ON)
    set(DSLA_GLOO_WHY "found (${DSLA_GLOO_INCLUDE_DIR})")
  else()
    set(DSLA_GLOO_WHY "Gloo's headers (gloo/algorithm.h) are missing: C++ cannot construct Gloo "
                      "groups; pass a torch.distributed group from Python")
  endif()
endif()
