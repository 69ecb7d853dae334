// CTC-CRF denominator forward-backward: CUDA kernels (raw pointers; see den_cuda.h).
//
// Same algorithm as the CPU kernel (den_cpu.cpp): probability domain with per-frame rescaling.
//   forward, frame t, one thread per (state s, utterance n), incoming CSR:
//     alpha_t(s) = exp(lp[n,t,label s] - m_{n,t}) / c_{t-1} * sum_{a: r -> s} w_a alpha_{t-1}(r)
//     c_t = sum_s alpha_t(s)                          (block pre-sum in shared memory + atomics)
//   backward, frame u, one thread per (s, n), outgoing CSR:
//     b_u(s) = final(s) at u = T_n - 1, else sum_{a: s -> d} w_a g_{u+1}(d) / sum_s b_{u+1}
//     g_u(s) = exp(lp[n,u,label s] - m_{n,u}) b_u(s)
//     grad[n,u,label s] += alpha_u(s) b_u(s)          (atomics), D_u = sum_s alpha_u(s) b_u(s)
//   then grad /= D_u and log Z_n = sum_t m + sum_{t < T_n-1} log c_t + log D_{T_n-1} + max final.
// alpha is kept for all frames in layout [t][s][n] (slot 0 = the one-hot start), so the N
// threads of a state read one contiguous row of the previous frame.

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "den_cuda.h"

namespace ctc_crf_den {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxSharedN = 1024;  // block pre-sums in shared memory up to this batch size

__host__ __device__ inline size_t align_up(size_t x) { return (x + 255) / 256 * 256; }

template <class F>
__device__ inline F neg_inf();
template <>
__device__ inline float neg_inf<float>() { return -INFINITY; }
template <>
__device__ inline double neg_inf<double>() { return -(double)INFINITY; }

// Workspace carving; the same arithmetic on host and device.
template <class F>
struct Workspace {
  int* flag;
  double* fmax;
  F *w_in, *w_out, *fin, *mx, *csum, *bsum, *dsum, *g, *alpha;
  size_t bytes;

  __host__ Workspace(void* base, int64_t N, int64_t T, int64_t S, int64_t A) {
    char* p = static_cast<char*>(base);
    size_t off = 0;
    auto take = [&](size_t n) {
      char* q = p ? p + off : nullptr;
      off += align_up(n);
      return q;
    };
    flag = reinterpret_cast<int*>(take(sizeof(int)));
    fmax = reinterpret_cast<double*>(take(sizeof(double)));
    w_in = reinterpret_cast<F*>(take(sizeof(F) * (size_t)A));
    w_out = reinterpret_cast<F*>(take(sizeof(F) * (size_t)A));
    fin = reinterpret_cast<F*>(take(sizeof(F) * (size_t)S));
    mx = reinterpret_cast<F*>(take(sizeof(F) * (size_t)N * T));
    csum = reinterpret_cast<F*>(take(sizeof(F) * (size_t)N * T));
    bsum = reinterpret_cast<F*>(take(sizeof(F) * (size_t)N * T));
    dsum = reinterpret_cast<F*>(take(sizeof(F) * (size_t)N * T));
    g = reinterpret_cast<F*>(take(sizeof(F) * 2 * (size_t)S * N));
    alpha = reinterpret_cast<F*>(take(sizeof(F) * (size_t)(T + 1) * S * N));
    bytes = off;
  }
};

// ------------------------------------------------------------------------------------------
// validation

__global__ void k_validate(const int64_t* lengths, int64_t N, int64_t T, int64_t V,
                           const int64_t* in_ptr, const int32_t* in_src, const int64_t* out_ptr,
                           const int32_t* out_dst, const int32_t* label, int64_t S, int64_t A,
                           int* flag) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t i0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  int bad = 0;
  for (int64_t i = i0; i < N; i += stride)
    if (lengths[i] < 1 || lengths[i] > T) bad |= kBadLengths;
  for (int64_t i = i0; i < S; i += stride) {
    if (label[i] < -1 || label[i] >= V) bad |= kBadLabels;
    if (in_ptr[i] > in_ptr[i + 1]) bad |= kBadInPtr;
    if (out_ptr[i] > out_ptr[i + 1]) bad |= kBadOutPtr;
  }
  for (int64_t i = i0; i < A; i += stride) {
    if (in_src[i] < 0 || in_src[i] >= S) bad |= kBadInSrc;
    if (out_dst[i] < 0 || out_dst[i] >= S) bad |= kBadOutDst;
  }
  if (i0 == 0) {
    if (in_ptr[0] != 0 || in_ptr[S] != A) bad |= kBadInPtr;
    if (out_ptr[0] != 0 || out_ptr[S] != A) bad |= kBadOutPtr;
  }
  if (bad) atomicOr(flag, bad);
}

// ------------------------------------------------------------------------------------------
// set-up

template <class F>
__global__ void k_exp_weights(const F* in_logw, const F* out_logw, F* w_in, F* w_out, int64_t A) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t a = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; a < A; a += stride) {
    w_in[a] = exp(in_logw[a]);
    w_out[a] = exp(out_logw[a]);
  }
}

// One block: fmax = max_s final_logw; fin = exp(final_logw - fmax) (all 0 and fmax = 0 when no
// state is final).
template <class F>
__global__ void k_finals(const F* final_logw, int64_t S, F* fin, double* fmax_out) {
  __shared__ double red[kThreads];
  double m = -(double)INFINITY;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) m = fmax(m, (double)final_logw[s]);
  red[threadIdx.x] = m;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if ((int)threadIdx.x < k) red[threadIdx.x] = fmax(red[threadIdx.x], red[threadIdx.x + k]);
    __syncthreads();
  }
  const double fm = red[0];
  const bool any = fm > -(double)INFINITY;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x)
    fin[s] = any ? (F)exp((double)final_logw[s] - fm) : F(0);
  if (threadIdx.x == 0) *fmax_out = any ? fm : 0.0;
}

// One warp per row (n, t): mx[row] = max_v lp[row, v].
template <class F>
__global__ void k_row_max(const F* lp, int64_t rows, int64_t V, F* mx) {
  const int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const F* x = lp + warp * V;
  F m = neg_inf<F>();
  for (int64_t v = lane; v < V; v += 32) m = x[v] > m ? x[v] : m;
  for (int o = 16; o > 0; o >>= 1) {
    const F y = __shfl_xor_sync(0xffffffffu, m, o);
    m = y > m ? y : m;
  }
  if (lane == 0) mx[warp] = m;
}

template <class F>
__global__ void k_one_hot(F* alpha0, int64_t S, int64_t N, int64_t start) {
  const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < S * N) alpha0[i] = (i / N == start) ? F(1) : F(0);
}

// ------------------------------------------------------------------------------------------
// per-frame kernels

// Adds `val` (for utterance n) into out[n] through a shared-memory pre-sum of the block.
template <class F>
__device__ inline void block_sum_add(F* red, int64_t N, bool use_shared, int64_t n, F val,
                                     F* out) {
  if (use_shared) {
    if (val != F(0)) atomicAdd(&red[n], val);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x)
      if (red[i] != F(0)) atomicAdd(&out[i], red[i]);
  } else if (val != F(0)) {
    atomicAdd(&out[n], val);
  }
}

template <class F>
__global__ void k_forward(int64_t t, const F* __restrict__ lp, const int64_t* __restrict__ lengths,
                          int64_t N, int64_t T, int64_t V, const int64_t* __restrict__ in_ptr,
                          const int32_t* __restrict__ in_src, const F* __restrict__ w_in,
                          const int32_t* __restrict__ label, const F* __restrict__ mx,
                          F* __restrict__ csum, const F* __restrict__ prev, F* __restrict__ cur,
                          int64_t S) {
  extern __shared__ unsigned char smem_raw[];
  F* red = reinterpret_cast<F*>(smem_raw);
  const bool use_shared = N <= kMaxSharedN;
  if (use_shared) {
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) red[i] = F(0);
    __syncthreads();
  }
  const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  F out = F(0);
  int64_t n = 0;
  if (idx < S * N) {
    const int64_t s = idx / N;
    n = idx - s * N;
    const int32_t lab = label[s];
    if (t < lengths[n] && lab >= 0) {
      const F m = mx[n * T + t];
      if (m > neg_inf<F>()) {
        F inv = F(1);
        if (t > 0) {
          const F c = csum[(t - 1) * N + n];
          inv = c > F(0) ? F(1) / c : F(0);
        }
        F acc0 = F(0), acc1 = F(0);
        int64_t a = in_ptr[s];
        const int64_t e = in_ptr[s + 1];
        for (; a + 1 < e; a += 2) {
          acc0 += w_in[a] * prev[(int64_t)in_src[a] * N + n];
          acc1 += w_in[a + 1] * prev[(int64_t)in_src[a + 1] * N + n];
        }
        if (a < e) acc0 += w_in[a] * prev[(int64_t)in_src[a] * N + n];
        out = (acc0 + acc1) * exp(lp[(n * T + t) * V + lab] - m) * inv;
      }
    }
    cur[idx] = out;
  }
  block_sum_add(red, N, use_shared, n, out, csum + t * N);
}

template <class F>
__global__ void k_backward(int64_t u, const F* __restrict__ lp, const int64_t* __restrict__ lengths,
                           int64_t N, int64_t T, int64_t V, const int64_t* __restrict__ out_ptr,
                           const int32_t* __restrict__ out_dst, const F* __restrict__ w_out,
                           const int32_t* __restrict__ label, const F* __restrict__ mx,
                           const F* __restrict__ fin, F* __restrict__ bsum, F* __restrict__ dsum,
                           const F* __restrict__ alpha_u, const F* __restrict__ gnext,
                           F* __restrict__ gcur, F* __restrict__ grad, int64_t S) {
  extern __shared__ unsigned char smem_raw[];
  F* red_b = reinterpret_cast<F*>(smem_raw);
  const bool use_shared = N <= kMaxSharedN;
  F* red_d = use_shared ? red_b + N : nullptr;
  if (use_shared) {
    for (int64_t i = threadIdx.x; i < 2 * N; i += blockDim.x) red_b[i] = F(0);
    __syncthreads();
  }
  const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  F b = F(0), occ = F(0);
  int64_t n = 0;
  if (idx < S * N) {
    const int64_t s = idx / N;
    n = idx - s * N;
    const int64_t len = lengths[n];
    if (u == len - 1) {
      b = fin[s];
    } else if (u < len - 1) {
      const F rb = bsum[(u + 1) * N + n];
      const F inv = rb > F(0) ? F(1) / rb : F(0);
      F acc0 = F(0), acc1 = F(0);
      int64_t a = out_ptr[s];
      const int64_t e = out_ptr[s + 1];
      for (; a + 1 < e; a += 2) {
        acc0 += w_out[a] * gnext[(int64_t)out_dst[a] * N + n];
        acc1 += w_out[a + 1] * gnext[(int64_t)out_dst[a + 1] * N + n];
      }
      if (a < e) acc0 += w_out[a] * gnext[(int64_t)out_dst[a] * N + n];
      b = (acc0 + acc1) * inv;
    }
    F g = F(0);
    const int32_t lab = label[s];
    if (b != F(0) && lab >= 0) {  // label -1: never entered, zero emission and occupancy
      const F m = mx[n * T + u];
      const int64_t row = (n * T + u) * V;
      if (m > neg_inf<F>()) g = exp(lp[row + lab] - m) * b;
      occ = alpha_u[idx] * b;
      if (occ != F(0)) atomicAdd(&grad[row + lab], occ);
    }
    gcur[idx] = g;
  }
  if (use_shared) {
    if (b != F(0)) atomicAdd(&red_b[n], b);
    if (occ != F(0)) atomicAdd(&red_d[n], occ);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
      if (red_b[i] != F(0)) atomicAdd(&bsum[u * N + i], red_b[i]);
      if (red_d[i] != F(0)) atomicAdd(&dsum[u * N + i], red_d[i]);
    }
  } else {
    if (b != F(0)) atomicAdd(&bsum[u * N + n], b);
    if (occ != F(0)) atomicAdd(&dsum[u * N + n], occ);
  }
}

// ------------------------------------------------------------------------------------------
// results

template <class F>
__global__ void k_log_z(const int64_t* lengths, int64_t N, int64_t T, const F* mx, const F* csum,
                        const F* dsum, const double* fmax, F* log_z) {
  const int64_t n = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= N) return;
  const int64_t len = lengths[n];
  double acc = *fmax;
  for (int64_t t = 0; t < len; ++t) acc += (double)mx[n * T + t];
  for (int64_t t = 0; t + 1 < len; ++t) acc += log((double)csum[t * N + n]);
  acc += log((double)dsum[(len - 1) * N + n]);
  log_z[n] = (F)acc;
}

template <class F>
__global__ void k_normalize(const int64_t* lengths, int64_t N, int64_t T, int64_t V,
                            const F* dsum, const F* log_z, F* grad) {
  const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N * T * V) return;
  const int64_t n = i / (T * V);
  const int64_t t = (i / V) % T;
  const F d = dsum[t * N + n];
  const bool ok = t < lengths[n] && log_z[n] > neg_inf<F>() && d > F(0);
  grad[i] = ok ? grad[i] / d : F(0);
}

// ------------------------------------------------------------------------------------------

inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  return (unsigned)((n + threads - 1) / threads);
}

template <class F>
int run(const F* lp, const int64_t* lengths, int64_t N, int64_t T, int64_t V, const int64_t* in_ptr,
        const int32_t* in_src, const F* in_logw, const int64_t* out_ptr, const int32_t* out_dst,
        const F* out_logw, const int32_t* label, const F* final_logw, int64_t start, int64_t S,
        int64_t A, F* log_z, F* grad, void* workspace, cudaStream_t stream) {
  Workspace<F> ws(workspace, N, T, S, A);
  const int64_t SN = S * N;
  const size_t smem_f = N <= kMaxSharedN ? sizeof(F) * (size_t)N : 0;
  const size_t smem_b = 2 * smem_f;
  cudaError_t err;
#define DEN_CUDA_TRY(call)                  \
  do {                                      \
    err = (call);                           \
    if (err != cudaSuccess) return (int)err; \
  } while (0)
  DEN_CUDA_TRY(cudaMemsetAsync(ws.csum, 0, sizeof(F) * (size_t)N * T, stream));
  DEN_CUDA_TRY(cudaMemsetAsync(ws.bsum, 0, sizeof(F) * (size_t)N * T, stream));
  DEN_CUDA_TRY(cudaMemsetAsync(ws.dsum, 0, sizeof(F) * (size_t)N * T, stream));
  DEN_CUDA_TRY(cudaMemsetAsync(ws.g, 0, sizeof(F) * 2 * (size_t)SN, stream));
  DEN_CUDA_TRY(cudaMemsetAsync(grad, 0, sizeof(F) * (size_t)N * T * V, stream));

  const unsigned wblocks = (unsigned)(A > 0 ? (blocks_for(A) < 4096u ? blocks_for(A) : 4096u) : 1u);
  k_exp_weights<F><<<wblocks, kThreads, 0, stream>>>(in_logw, out_logw, ws.w_in, ws.w_out, A);
  k_finals<F><<<1, kThreads, 0, stream>>>(final_logw, S, ws.fin, ws.fmax);
  k_row_max<F><<<blocks_for(N * T * 32), kThreads, 0, stream>>>(lp, N * T, V, ws.mx);
  k_one_hot<F><<<blocks_for(SN), kThreads, 0, stream>>>(ws.alpha, S, N, start);
  DEN_CUDA_TRY(cudaGetLastError());

  const unsigned sblocks = blocks_for(SN);
  for (int64_t t = 0; t < T; ++t) {
    k_forward<F><<<sblocks, kThreads, smem_f, stream>>>(
        t, lp, lengths, N, T, V, in_ptr, in_src, ws.w_in, label, ws.mx, ws.csum,
        ws.alpha + (size_t)t * SN, ws.alpha + (size_t)(t + 1) * SN, S);
  }
  DEN_CUDA_TRY(cudaGetLastError());
  for (int64_t u = T - 1; u >= 0; --u) {
    k_backward<F><<<sblocks, kThreads, smem_b, stream>>>(
        u, lp, lengths, N, T, V, out_ptr, out_dst, ws.w_out, label, ws.mx, ws.fin, ws.bsum,
        ws.dsum, ws.alpha + (size_t)(u + 1) * SN, ws.g + (size_t)((u + 1) & 1) * SN,
        ws.g + (size_t)(u & 1) * SN, grad, S);
  }
  DEN_CUDA_TRY(cudaGetLastError());
  k_log_z<F><<<blocks_for(N), kThreads, 0, stream>>>(lengths, N, T, ws.mx, ws.csum, ws.dsum,
                                                     ws.fmax, log_z);
  k_normalize<F><<<blocks_for(N * T * V), kThreads, 0, stream>>>(lengths, N, T, V, ws.dsum, log_z,
                                                                 grad);
  DEN_CUDA_TRY(cudaGetLastError());
#undef DEN_CUDA_TRY
  return 0;
}

}  // namespace

size_t cuda_workspace_bytes(int64_t N, int64_t T, int64_t S, int64_t A, size_t elem_size) {
  return elem_size == sizeof(double) ? Workspace<double>(nullptr, N, T, S, A).bytes
                                     : Workspace<float>(nullptr, N, T, S, A).bytes;
}

int cuda_validate(const int64_t* lengths, int64_t N, int64_t T, int64_t V, const int64_t* in_ptr,
                  const int32_t* in_src, const int64_t* out_ptr, const int32_t* out_dst,
                  const int32_t* state_label, int64_t S, int64_t A, void* workspace,
                  CUstream_st* stream) {
  // The flag is the first field of the workspace for either element type.
  int* flag = Workspace<float>(workspace, 0, 0, 0, 0).flag;
  cudaError_t err = cudaMemsetAsync(flag, 0, sizeof(int), stream);
  if (err != cudaSuccess) return -1 - (int)err;
  int64_t most = N > S ? N : S;
  most = most > A ? most : A;
  const unsigned blocks = blocks_for(most) < 1024u ? blocks_for(most) : 1024u;
  k_validate<<<blocks, kThreads, 0, stream>>>(lengths, N, T, V, in_ptr, in_src, out_ptr, out_dst,
                                              state_label, S, A, flag);
  int host = 0;
  err = cudaMemcpyAsync(&host, flag, sizeof(int), cudaMemcpyDeviceToHost, stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) return -1 - (int)err;
  return host;
}

int cuda_forward_backward(const float* log_probs, const int64_t* lengths, int64_t N, int64_t T,
                          int64_t V, const int64_t* in_ptr, const int32_t* in_src,
                          const float* in_logw, const int64_t* out_ptr, const int32_t* out_dst,
                          const float* out_logw, const int32_t* state_label,
                          const float* final_logw, int64_t start, int64_t S, int64_t A,
                          float* log_z, float* grad, void* workspace, CUstream_st* stream) {
  return run<float>(log_probs, lengths, N, T, V, in_ptr, in_src, in_logw, out_ptr, out_dst,
                    out_logw, state_label, final_logw, start, S, A, log_z, grad, workspace, stream);
}

int cuda_forward_backward(const double* log_probs, const int64_t* lengths, int64_t N, int64_t T,
                          int64_t V, const int64_t* in_ptr, const int32_t* in_src,
                          const double* in_logw, const int64_t* out_ptr, const int32_t* out_dst,
                          const double* out_logw, const int32_t* state_label,
                          const double* final_logw, int64_t start, int64_t S, int64_t A,
                          double* log_z, double* grad, void* workspace, CUstream_st* stream) {
  return run<double>(log_probs, lengths, N, T, V, in_ptr, in_src, in_logw, out_ptr, out_dst,
                     out_logw, state_label, final_logw, start, S, A, log_z, grad, workspace, stream);
}

const char* cuda_error_string(int code) { return cudaGetErrorString((cudaError_t)code); }

}  // namespace ctc_crf_den
