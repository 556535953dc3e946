# Per-file ISA flags: sources under src/kernels/x86/<isa>/ are compiled for
# that ISA only; everything else targets the baseline x86-64 so the library
# runs on any x86-64 CPU and picks kernels at run time (src/core/cpu.cc).
# Kernels start on a cache line, so a hot loop's place relative to the
# 32- and 64-byte fetch and op-cache windows does not move when unrelated
# code changes: an unchanged depthwise kernel ran 28% slower (0.274 against
# 0.213 ms, 8 of 8 alternated rounds) after an edit elsewhere moved it by
# 112 bytes.
set(ANVIL_KERNEL_ALIGN -falign-functions=64 -falign-loops=64)
set(ANVIL_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c -mbmi2 ${ANVIL_KERNEL_ALIGN})
set(ANVIL_AVX2_FLAGS -mavx2 -mfma -mf16c -mbmi2 ${ANVIL_KERNEL_ALIGN})

# The element-wise epilogue kernels (f32-postop-*) must round as their
# plain-loop reference does, value for value: GCC would otherwise fuse their
# y * a + b into an FMA.
set(ANVIL_EXACT_FLAGS -ffp-contract=off)

function(anvil_set_isa_flags sources)
  foreach(src IN LISTS sources)
    set(extra "")
    if(src MATCHES "/f32-postop-")
      set(extra ${ANVIL_EXACT_FLAGS})
    endif()
    if(src MATCHES "/kernels/x86/avx512/")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ANVIL_AVX512_FLAGS};${extra}")
    elseif(src MATCHES "/kernels/x86/avx2/")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ANVIL_AVX2_FLAGS};${extra}")
    endif()
  endforeach()
endfunction()
