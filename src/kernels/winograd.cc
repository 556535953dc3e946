#include "kernels/winograd.h"

namespace anvil::kernels {

const double kWinoF4G[6][3] = {{1.0 / 4, 0, 0},          {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                               {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

namespace {

constexpr float kBT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                             {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
constexpr float kAT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

}  // namespace

void f32_winograd_f4x3_input_ukernel_36x16__scalar(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  for (int t = 0; t < 16; ++t) {
    const float* d = plane + in_off[t];
    float tmp[6][6];
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        float s = 0.f;
        for (int k = 0; k < 6; ++k) s += kBT[i][k] * d[k * pw + j];
        tmp[i][j] = s;
      }
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        float s = 0.f;
        for (int k = 0; k < 6; ++k) s += tmp[i][k] * kBT[j][k];
        v[(i * 6 + j) * vstride + t] = s;
      }
  }
}

void f32_winograd_f4x3_output_ukernel_36x16__scalar(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks) {
  for (int t = 0; t < 16; ++t) {
    float tmp[4][6];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 6; ++j) {
        float s = 0.f;
        for (int k = 0; k < 6; ++k) s += kAT[i][k] * m[(k * 6 + j) * mstride + t];
        tmp[i][j] = s;
      }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        if (!((masks[i * 4 + j] >> t) & 1)) continue;
        float s = 0.f;
        for (int k = 0; k < 6; ++k) s += tmp[i][k] * kAT[j][k];
        y[out_off[t] + i * ow + j] = s + bias;
      }
  }
}

}  // namespace anvil::kernels
