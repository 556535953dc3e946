# `cmake --install`: headers, libanvil.a, the anvil CLI, an exported CMake
# package (find_package(anvil) -> anvil::anvil) and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(anvil::anvil ALIAS anvil)
target_compile_features(anvil PUBLIC cxx_std_20)

install(TARGETS anvil EXPORT anvilTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS anvil_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/anvil DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

set(ANVIL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/anvil)
install(EXPORT anvilTargets NAMESPACE anvil:: DESTINATION ${ANVIL_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/anvilConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/anvilConfig.cmake INSTALL_DESTINATION ${ANVIL_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/anvilConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/anvilConfig.cmake ${CMAKE_BINARY_DIR}/anvilConfigVersion.cmake
        DESTINATION ${ANVIL_CMAKE_DIR})

# Relocatable: the prefix is found from the .pc file's own location, so
# `cmake --install build --prefix P` works for any P.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(ANVIL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH ANVIL_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  set(ANVIL_PC_PREFIX "\${pcfiledir}/${ANVIL_PC_UP}")
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/anvil.pc.in ${CMAKE_BINARY_DIR}/anvil.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/anvil.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
