// Copies for layout changes done on the fly (runtime/impl_conv.cc
// splits a stride-2 conv's input into 2x2 phase planes): dst[i] = src[2i]
// for i < n, with an optional x * st[0] + st[1] on the way (a BatchNorm
// before the conv). Reads src[0 .. 2n - 2] only. The __scalar version is
// the plain-loop reference and the path at ISAs without a kernel here.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

using CopyS2Ukernel = void (*)(const float* src, int64_t n, float* dst, const float* st);
CopyS2Ukernel copy_s2_ukernel_for(Isa isa);

void f32_copy_s2_ukernel_1x1__scalar(const float* src, int64_t n, float* dst, const float* st);
void f32_copy_s2_ukernel_1x16__avx512(const float* src, int64_t n, float* dst, const float* st);

// Rows of a packed GEMM panel, nr floats each (nr <= 64), built from runs
// of source rows (a stride-2 conv's panel: its pixels as a few runs along
// output rows, each read from a phase plane):
//   dst[r * nr + at[i] + q] = src[r][off[i] + q]   for q < len[i], i < runs
// and zero at the panel columns no run covers. Runs are disjoint, in
// increasing `at`, within [0, nr); at most kPackRunsMax of them.
constexpr int64_t kPackRunsMax = 8;
using PackRunsUkernel = void (*)(int64_t rows, const float* const* src, int64_t runs, const int64_t* at,
                                 const int64_t* off, const int64_t* len, int64_t nr, float* dst);
PackRunsUkernel pack_runs_ukernel_for(Isa isa);

void f32_pack_runs_ukernel_1x1__scalar(int64_t rows, const float* const* src, int64_t runs, const int64_t* at,
                                       const int64_t* off, const int64_t* len, int64_t nr, float* dst);
void f32_pack_runs_ukernel_1x16__avx512(int64_t rows, const float* const* src, int64_t runs, const int64_t* at,
                                        const int64_t* off, const int64_t* len, int64_t nr, float* dst);

// One channel into the window of its zero-padded plane that a convolution
// reads (depthwise, Winograd's input transform, the indirect and small-map
// GEMM paths), so those kernels never check bounds:
//   dst[r * PW + c] = x[(r - ph) * W + (c - pw)]   where that pixel exists,
//                   = 0                              elsewhere,
// for r < PH, c < PW (negative pads crop; PH, PW may cut the image short).
// With scale, existing pixels become x * scale[0] + shift[0] (a BatchNorm
// before a padded conv: the padding stays zero).
using PadPlaneUkernel = void (*)(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                 int64_t PW, float* dst, const float* scale, const float* shift);
PadPlaneUkernel pad_plane_ukernel_for(Isa isa);

void f32_pad_plane_ukernel_1x1__scalar(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                       int64_t PW, float* dst, const float* scale, const float* shift);
void f32_pad_plane_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                        int64_t PW, float* dst, const float* scale, const float* shift);

// Reduction rows [k0, k0 + kc) of a convolution's implicit im2col matrix
// (row k = (c, kh, kw), c-major, as the conv's weights are laid out),
// written straight into a packed B block for small maps, no phase or padded
// planes in between: for output rows oh in [oh0, oh1),
//   dst[(k - k0) * ldd + seg[oh - oh0] + ow]
//     = x[c][oh*sh + kh*dh - ph][ow*sw + kw*dw - pw]   (* scale[c] + shift[c])
// and 0 where that pixel is padding. seg[] places each output row in the
// block (its panel and column there); rows of a panel are ldd floats apart.
// The AVX-512 kernel holds an input row in two registers (W <= 32) and
// makes each output row (OW <= 16) with one two-source permute.
struct Im2rowGeo {
  int64_t H, W, OW, KH, KW, sh, sw, dh, dw, ph, pw;
  int64_t oh0, oh1;
};
constexpr int64_t kIm2rowMaxW = 32, kIm2rowMaxOW = 16, kIm2rowMaxKW = 16;
using Im2rowUkernel = void (*)(const float* x, const Im2rowGeo& g, int64_t k0, int64_t kc, const int64_t* seg,
                               int64_t ldd, float* dst, const float* scale, const float* shift);
Im2rowUkernel im2row_ukernel_for(Isa isa);  // null below AVX-512

void f32_im2row_ukernel_1x1__scalar(const float* x, const Im2rowGeo& g, int64_t k0, int64_t kc, const int64_t* seg,
                                    int64_t ldd, float* dst, const float* scale, const float* shift);
void f32_im2row_ukernel_1x16__avx512(const float* x, const Im2rowGeo& g, int64_t k0, int64_t kc, const int64_t* seg,
                                     int64_t ldd, float* dst, const float* scale, const float* shift);

}  // namespace anvil::kernels
