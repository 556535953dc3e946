// NumPy .npy files: the exchange format for test inputs and reference
// outputs (numpy, the ONNX Runtime oracle). The API is public:
// include/anvil/npy.h.
#pragma once
#include "anvil/npy.h"
