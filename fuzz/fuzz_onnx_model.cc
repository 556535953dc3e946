// libFuzzer target: see fuzz/entries.h.
#include "fuzz/entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return anvil::fuzz::onnx_model(data, size); }
