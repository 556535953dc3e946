// Tensors whose every element the caller writes (packed weights):
// allocated without the constructor's zero fill. Packing ResNet-101's
// weights touched each fresh page twice, the fill then the packing (the
// fill was 6-8% of compile time in perf, under the page faults).
#pragma once
#include "anvil/tensor.h"

namespace anvil {

// Same size limit and errors as Tensor(DType, Shape); the contents are
// undefined until written.
Tensor tensor_for_overwrite(DType dtype, Shape shape);

// True when `t` alone holds its storage (no copy, reshape or view of it is
// alive) and the storage is anvil's own: writing to it then changes no
// other tensor. Wrapped memory (Tensor::wrap) is never unshared.
bool storage_unshared(const Tensor& t);

}  // namespace anvil
