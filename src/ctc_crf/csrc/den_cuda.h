// CTC-CRF denominator forward-backward on CUDA: the kernels' host interface.
//
// Raw device pointers only (no torch headers), so that den_cuda_kernels.cu compiles alone with
// `nvcc -c`. The torch binding (den_cuda_binding.cpp) allocates the outputs and the workspace.
//
// Shapes (all pointers on the same device, contiguous):
//   log_probs (N, T, V), lengths (N,) int64 with 1 <= lengths[n] <= T,
//   in_ptr / out_ptr (S+1,) int64, in_src / out_dst (A,) int32, in_logw / out_logw (A,),
//   state_label (S,) int32 in [0, V) or -1 (never entered), final_logw (S,), start in [0, S);
//   outputs log_z (N,) and grad (N, T, V) (grad need not be initialized).
// Semantics are those of the CPU kernel (den_cpu.cpp): log_z[n] = log Z_n, grad = state
// occupancies by label, zero past T_n; no path gives -inf and a zero gradient.
//
// Memory: the workspace holds alpha for every frame, ((T+1) * S * N) elements, plus
// O(2 A + 3 S N + 4 T N) elements; see workspace_bytes().
// Sums over states use atomics, so results may differ in the last bits from run to run.
#pragma once

#include <cstddef>
#include <cstdint>

struct CUstream_st;  // = cudaStream_t

namespace ctc_crf_den {

// Bytes of device workspace that forward_backward needs (elem_size = 4 or 8).
size_t cuda_workspace_bytes(int64_t N, int64_t T, int64_t S, int64_t A, size_t elem_size);

// Bits of the value returned by cuda_validate.
enum ValidateFlags : int {
  kBadLengths = 1,  // lengths out of [1, T]
  kBadLabels = 2,   // state_label out of [-1, V)
  kBadInSrc = 4,    // in_src out of [0, S)
  kBadOutDst = 8,   // out_dst out of [0, S)
  kBadInPtr = 16,   // in_ptr not 0 .. A non-decreasing
  kBadOutPtr = 32,  // out_ptr likewise
};

// Checks the index arrays on the device; returns a combination of ValidateFlags (0 = all good),
// or -1 - (CUDA error code) when a CUDA call failed. Synchronizes `stream`.
int cuda_validate(const int64_t* lengths, int64_t N, int64_t T, int64_t V, const int64_t* in_ptr,
                  const int32_t* in_src, const int64_t* out_ptr, const int32_t* out_dst,
                  const int32_t* state_label, int64_t S, int64_t A, void* workspace,
                  CUstream_st* stream);

// Enqueues the whole forward-backward on `stream`; returns the CUDA error code (0 = success)
// of the launches. `workspace` must hold cuda_workspace_bytes(...) bytes, 256-byte aligned.
int cuda_forward_backward(const float* log_probs, const int64_t* lengths, int64_t N, int64_t T,
                          int64_t V, const int64_t* in_ptr, const int32_t* in_src,
                          const float* in_logw, const int64_t* out_ptr, const int32_t* out_dst,
                          const float* out_logw, const int32_t* state_label,
                          const float* final_logw, int64_t start, int64_t S, int64_t A,
                          float* log_z, float* grad, void* workspace, CUstream_st* stream);
int cuda_forward_backward(const double* log_probs, const int64_t* lengths, int64_t N, int64_t T,
                          int64_t V, const int64_t* in_ptr, const int32_t* in_src,
                          const double* in_logw, const int64_t* out_ptr, const int32_t* out_dst,
                          const double* out_logw, const int32_t* state_label,
                          const double* final_logw, int64_t start, int64_t S, int64_t A,
                          double* log_z, double* grad, void* workspace, CUstream_st* stream);

// Text of a CUDA error code.
const char* cuda_error_string(int code);

}  // namespace ctc_crf_den
