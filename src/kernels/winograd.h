// Winograd F(4x4, 3x3) and F(2x2, 3x3) transforms for 16 tiles at a time (runtime/
// impl_winograd.cc): lane t of every vector is tile t, so a point's 16
// values are one contiguous 64-byte row of the GEMM's packed B panel and
// the transforms run at full vector width whatever the image width.
// For F(m x m, 3x3), a = m + 2 (6 or 4):
//   input:  V = B^T d B, d the a x a window at plane + in_off[t] (row stride pw)
//   output: Y = A^T M A + bias, then clamped to [clamp[0], clamp[1]] when
//           clamp is not null (ReLU, ReLU6: NaN stays NaN), the m x m block
//           stored at y + out_off[t] (row stride ow), output (i, j) of tile
//           t only where bit t of masks[i * m + j] is set (partial tiles at
//           the right and bottom)
//   input_direct: the same V, the window read from the unpadded image (row
//           stride w): value j of window row k of tile t is
//           image[in_off[t] + k * w + j] where bit j of rmask[k * 16 + t]
//           is set and zero (the padding) elsewhere. Border tiles' in_off
//           may point outside the image; masked-out values are never read.
// Point xi = a * row + column is at v + xi * vstride (m + xi * mstride).
// The __scalar versions are the plain-loop references.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {


using WinogradInputUkernel = void (*)(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                      int64_t vstride);
using WinogradInputDirectUkernel = void (*)(const float* image, int64_t w, const int32_t* in_off,
                                            const uint8_t* rmask, float* v, int64_t vstride);
using WinogradOutputUkernel = void (*)(const float* m, int64_t mstride, float bias, float* y, int64_t ow,
                                       const int32_t* out_off, const uint16_t* masks, const float* clamp);

void f32_winograd_f4x3_input_ukernel_36x16__scalar(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride);
void f32_winograd_f4x3_input_direct_ukernel_36x16__scalar(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride);
void f32_winograd_f4x3_output_ukernel_36x16__scalar(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks, const float* clamp);
void f32_winograd_f4x3_input_ukernel_36x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride);
void f32_winograd_f4x3_input_direct_ukernel_36x16__avx512(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride);
void f32_winograd_f4x3_output_ukernel_36x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks, const float* clamp);

void f32_winograd_f2x3_input_ukernel_16x16__scalar(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride);
void f32_winograd_f2x3_input_direct_ukernel_16x16__scalar(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride);
void f32_winograd_f2x3_output_ukernel_16x16__scalar(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks, const float* clamp);
void f32_winograd_f2x3_input_ukernel_16x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride);
void f32_winograd_f2x3_input_direct_ukernel_16x16__avx512(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride);
void f32_winograd_f2x3_output_ukernel_16x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks, const float* clamp);

// G of F(4x4, 3x3) (Lavin & Gray, points 0, +-1, +-2, inf; 6 rows) and of
// F(2x2, 3x3) (points 0, +-1, inf; 4 rows), in double for the weight
// transform done once at compile time.
extern const double kWinoF4G[6][3];
extern const double kWinoF2G[4][3];

}  // namespace anvil::kernels
