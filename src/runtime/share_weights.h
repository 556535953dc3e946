// Weights shared between two compiles of one model (the server's sessions
// for each batch size): what the optimizer made identically is not kept
// twice, and kernels chosen identically do not pack twice.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel_registry.h"

namespace anvil {

struct WeightSharing {
  int64_t constant_bytes = 0;  // of g's constants, now the donor's tensors
  int64_t total_constant_bytes = 0;
  int64_t nodes_offered = 0;  // nodes given the donor's kernel choice
  int64_t nodes = 0;          // nodes of g with a kernel to choose
};

// Replaces each constant of `g` equal to the donor graph's constant of the
// same name (dtype, shape and bytes) with the donor's tensor, so both
// share its storage, and returns one KernelChoice per node of `g`: the
// donor's choice and packed weights for a node that matches a donor node
// (same name, op and attributes; the same constant inputs, now shared; the
// other inputs and the outputs of the same shape but for dim 0, the
// batch), else an empty choice. select_kernel keeps the donor's packed
// weights only for a kernel of the donor kernel's name (KernelChoice::kernel).
// `g` must have its shapes inferred.
std::vector<KernelChoice> share_weights(Graph& g, const Graph& donor, const std::vector<KernelChoice>& donor_choices,
                                        WeightSharing* stats);

}  // namespace anvil
