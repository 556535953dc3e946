#include "kernels/winograd.h"

namespace anvil::kernels {

const double kWinoF2G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
const double kWinoF4G[6][3] = {{1.0 / 4, 0, 0},          {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                               {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

namespace {

constexpr float kBT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                             {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
constexpr float kAT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

constexpr float kBT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr float kAT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

template <int kA, int kM>
void input_ref(const float (&bt)[kA][kA], const float* plane, int64_t pw, const int32_t* in_off, float* v,
               int64_t vstride) {
  for (int t = 0; t < 16; ++t) {
    const float* d = plane + in_off[t];
    float tmp[kA][kA];
    for (int i = 0; i < kA; ++i)
      for (int j = 0; j < kA; ++j) {
        float s = 0.f;
        for (int k = 0; k < kA; ++k) s += bt[i][k] * d[k * pw + j];
        tmp[i][j] = s;
      }
    for (int i = 0; i < kA; ++i)
      for (int j = 0; j < kA; ++j) {
        float s = 0.f;
        for (int k = 0; k < kA; ++k) s += tmp[i][k] * bt[j][k];
        v[(i * kA + j) * vstride + t] = s;
      }
  }
}

// The direct form: the window gathered into a zero-filled a x a block
// first, then the padded-plane reference on it.
template <int kA, int kM>
void input_direct_ref(const float (&bt)[kA][kA], const float* image, int64_t w, const int32_t* in_off,
                      const uint8_t* rmask, float* v, int64_t vstride) {
  for (int t = 0; t < 16; ++t) {
    float d[kA * kA];
    for (int k = 0; k < kA; ++k)
      for (int j = 0; j < kA; ++j)
        d[k * kA + j] = (rmask[k * 16 + t] >> j) & 1 ? image[in_off[t] + k * w + j] : 0.f;
    float vt[kA * kA * 16] = {};
    const int32_t zero[16] = {};
    // Tile t of the reference at lane 0 of a one-tile block; lane 0 copied out.
    input_ref<kA, kM>(bt, d, kA, zero, vt, 16);
    for (int xi = 0; xi < kA * kA; ++xi) v[xi * vstride + t] = vt[xi * 16];
  }
}

template <int kA, int kM>
void output_ref(const float (&at)[kM][kA], const float* m, int64_t mstride, float bias, float* y, int64_t ow,
                const int32_t* out_off, const uint16_t* masks, const float* clamp) {
  for (int t = 0; t < 16; ++t) {
    float tmp[kM][kA];
    for (int i = 0; i < kM; ++i)
      for (int j = 0; j < kA; ++j) {
        float s = 0.f;
        for (int k = 0; k < kA; ++k) s += at[i][k] * m[(k * kA + j) * mstride + t];
        tmp[i][j] = s;
      }
    for (int i = 0; i < kM; ++i)
      for (int j = 0; j < kM; ++j) {
        if (!((masks[i * kM + j] >> t) & 1)) continue;
        float s = 0.f;
        for (int k = 0; k < kA; ++k) s += tmp[i][k] * at[j][k];
        float v = s + bias;
        if (clamp) v = v < clamp[0] ? clamp[0] : v > clamp[1] ? clamp[1] : v;  // NaN stays NaN
        y[out_off[t] + i * ow + j] = v;
      }
  }
}

}  // namespace

void f32_winograd_f4x3_input_ukernel_36x16__scalar(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  input_ref<6, 4>(kBT, plane, pw, in_off, v, vstride);
}
void f32_winograd_f4x3_input_direct_ukernel_36x16__scalar(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride) {
  input_direct_ref<6, 4>(kBT, image, w, in_off, rmask, v, vstride);
}
void f32_winograd_f4x3_output_ukernel_36x16__scalar(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks,
                                                    const float* clamp) {
  output_ref<6, 4>(kAT, m, mstride, bias, y, ow, out_off, masks, clamp);
}
void f32_winograd_f2x3_input_ukernel_16x16__scalar(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  input_ref<4, 2>(kBT2, plane, pw, in_off, v, vstride);
}
void f32_winograd_f2x3_input_direct_ukernel_16x16__scalar(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride) {
  input_direct_ref<4, 2>(kBT2, image, w, in_off, rmask, v, vstride);
}
void f32_winograd_f2x3_output_ukernel_16x16__scalar(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks,
                                                    const float* clamp) {
  output_ref<4, 2>(kAT2, m, mstride, bias, y, ow, out_off, masks, clamp);
}

}  // namespace anvil::kernels
