// CTC-CRF denominator: forward-backward over the denominator graph on the CPU.
//
// Module `ctc_crf._den_cpu`, one function:
//
//   forward_backward(log_probs (N,T,V) float32|float64, input_lengths (N,) int,
//                    in_ptr (S+1,), in_src (A,), in_logw (A,),
//                    out_ptr (S+1,), out_dst (A,), out_logw (A,),
//                    state_label (S,) in [-1, V), final_logw (S,), start: int)
//       -> (log_z (N,), grad (N,T,V))
//
// with log_z[n] = log Z_n, the log of the total weight of all paths of exactly T_n frames from
// `start` to a final state (emission of a state = exp(log_probs[n, t, state_label[s]])), and
// grad[n, t, v] = d log Z_n / d log_probs[n, t, v] = the posterior occupancy of the states with
// label v at frame t (zero for t >= T_n). An utterance with no path gets log Z = -inf and a
// zero gradient. A state with label -1 emits nothing: it is never entered (its alpha is zero);
// it may be the start state, which is occupied before the first frame only.
//
// Numerics: probability domain with per-frame rescaling. Emissions are exp(lp - max_v lp) with
// the max added to a log accumulator; alpha_t is divided by sum_s alpha_{t-1} (the division is
// folded into the emission table of frame t), beta by sum_s beta_{t+1} likewise. The occupancy
// at a frame is alpha*beta / sum_s alpha*beta, free of all scales; log Z is recovered from the
// forward scales and the alpha.final product at the last frame. All logs accumulate in double.
// Denormals are flushed to zero inside the kernel (values < 1e-38 next to per-frame sums of 1);
// in float32 an emission more than ~87 nats below the best label of its frame counts as zero.
//
// Layout: utterances are sorted by length and processed in groups of W = 16 (8 for a last group
// of at most 8); a state's values for the W utterances of a group are one contiguous, 64-byte
// aligned vector, so each arc is one broadcast weight times a W-vector (FMA). The forward loop runs over
// destination states (incoming CSR), the backward loop over source states (outgoing CSR), both
// split into arc-balanced chunks of states handed out dynamically to OpenMP threads. The
// backward overwrites alpha_u with the occupancy alpha_u * beta_u, which a pass over the states
// grouped by label then sums into the gradient row.
//
// Memory: alpha is stored for every frame of a group, S * T_max * W * sizeof(dtype) bytes, plus
// O(3 S W + 2 V W + T_max W + A) scratch; e.g. S = 12k, T = 300, W = 16: 230 MB in float32,
// 460 MB in float64 (groups run one after the other and share the buffer).
//
// Determinism: the chunking depends on the graph only and every sum runs in a fixed order, so
// the results are bitwise the same for any thread count and across calls.
//
// The hot loops are compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and picked at
// run time, so the module needs no -march flag and runs on any x86-64 (CTC_CRF_DEN_ISA=avx2 or
// sse2 caps the choice). No global state; the GIL is released while computing; safe to call
// from several threads at once. Arguments are checked (shapes, dtypes, index ranges); the
// incoming and outgoing CSR are trusted to hold the same arcs.

#include <torch/extension.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define DEN_X86 1
#else
#define DEN_X86 0
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Hot loops, written with GCC vector extensions of the native width NB (bytes) of each ISA.

template <class T, int NB>
struct NativeVec {
  typedef T type __attribute__((vector_size(NB), may_alias));
};

// Software prefetch of the state rows `kPrefetch` arcs ahead: the rows are read in random order
// and the hardware prefetchers cannot guess them. The index arrays are padded by kPrefetch.
#ifndef DEN_PF
#define DEN_PF 32
#endif
constexpr int64_t kPrefetch = DEN_PF;

template <int Bytes>
static inline __attribute__((always_inline)) void prefetch_row(const void* p) {
#pragma GCC unroll 4
  for (int o = 0; o < Bytes; o += 64) __builtin_prefetch(static_cast<const char*>(p) + o, 0, 3);
}

// Forward over destination states [s0, s1):
//   out[s] = E[label[s]] * sum_{a in in(s)} w[a] * prev[src[a]];  sum = sum_s out[s].
template <class T, int W, int NB>
static inline __attribute__((always_inline)) void fwd_impl(
    int64_t s0, int64_t s1, const int64_t* __restrict ptr, const int32_t* __restrict src,
    const T* __restrict w, const int32_t* __restrict label, const T* __restrict E,
    const T* __restrict prev, T* __restrict out, T* __restrict sum) {
  constexpr int VB = (W * (int)sizeof(T) < NB) ? W * (int)sizeof(T) : NB;  // bytes per vector
  typedef typename NativeVec<T, VB>::type vec;
  constexpr int K = W * (int)sizeof(T) / VB;  // vectors per state row
  constexpr int U = (8 / K) > 1 ? 8 / K : 1;  // independent accumulator chains
  const vec* P = reinterpret_cast<const vec*>(prev);
  const vec* Ev = reinterpret_cast<const vec*>(E);
  vec* O = reinterpret_cast<vec*>(out);
  vec* Sv = reinterpret_cast<vec*>(sum);
  vec tot[K];
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) tot[k] = vec{};
  for (int64_t s = s0; s < s1; ++s) {
    vec acc[U][K];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) acc[u][k] = vec{};
    int64_t a = ptr[s];
    const int64_t e = ptr[s + 1];
    for (; a + U <= e; a += U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) prefetch_row<W * sizeof(T)>(P + (int64_t)src[a + u + kPrefetch] * K);
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const T wa = w[a + u];
        const vec* p = P + (int64_t)src[a + u] * K;
#pragma GCC unroll 16
        for (int k = 0; k < K; ++k) acc[u][k] += wa * p[k];
      }
    }
    for (; a < e; ++a) {
      const T wa = w[a];
      const vec* p = P + (int64_t)src[a] * K;
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) acc[0][k] += wa * p[k];
    }
    const vec* ev = Ev + (int64_t)label[s] * K;
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      vec r = acc[0][k];
#pragma GCC unroll 16
      for (int u = 1; u < U; ++u) r += acc[u][k];
      r *= ev[k];
      O[s * K + k] = r;
      tot[k] += r;
    }
  }
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) Sv[k] = tot[k];
}

// Backward over source states [s0, s1), frame u:
//   b[s]    = rec * sum_{a in out(s)} w[a] * gnext[dst[a]] + init * fin[s]
//   alpha_u[s] *= b[s]               (the occupancy, in place of alpha_u)
//   gcur[s] = E_u[label[s]] * b[s];   bsum = sum_s b[s]
template <class T, int W, int NB>
static inline __attribute__((always_inline)) void bwd_impl(
    int64_t s0, int64_t s1, const int64_t* __restrict ptr, const int32_t* __restrict dst,
    const T* __restrict w, const int32_t* __restrict label, const T* __restrict E,
    T* __restrict alpha, const T* __restrict gnext, T* __restrict gcur,
    const T* __restrict rec, const T* __restrict init, const T* __restrict fin,
    T* __restrict bsum) {
  constexpr int VB = (W * (int)sizeof(T) < NB) ? W * (int)sizeof(T) : NB;
  typedef typename NativeVec<T, VB>::type vec;
  constexpr int K = W * (int)sizeof(T) / VB;
  constexpr int U = (8 / K) > 1 ? 8 / K : 1;
  const vec* Gn = reinterpret_cast<const vec*>(gnext);
  vec* Al = reinterpret_cast<vec*>(alpha);
  const vec* Ev = reinterpret_cast<const vec*>(E);
  const vec* Rv = reinterpret_cast<const vec*>(rec);
  const vec* Iv = reinterpret_cast<const vec*>(init);
  vec* Gc = reinterpret_cast<vec*>(gcur);
  vec* Bs = reinterpret_cast<vec*>(bsum);
  vec tot[K], rv[K], iv[K];
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) {
    tot[k] = vec{};
    rv[k] = Rv[k];
    iv[k] = Iv[k];
  }
  for (int64_t s = s0; s < s1; ++s) {
    vec acc[U][K];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) acc[u][k] = vec{};
    int64_t a = ptr[s];
    const int64_t e = ptr[s + 1];
    for (; a + U <= e; a += U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) prefetch_row<W * sizeof(T)>(Gn + (int64_t)dst[a + u + kPrefetch] * K);
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const T wa = w[a + u];
        const vec* p = Gn + (int64_t)dst[a + u] * K;
#pragma GCC unroll 16
        for (int k = 0; k < K; ++k) acc[u][k] += wa * p[k];
      }
    }
    for (; a < e; ++a) {
      const T wa = w[a];
      const vec* p = Gn + (int64_t)dst[a] * K;
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) acc[0][k] += wa * p[k];
    }
    const int64_t lab = (int64_t)label[s] * K;
    const T fs = fin[s];
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      vec r = acc[0][k];
#pragma GCC unroll 16
      for (int u = 1; u < U; ++u) r += acc[u][k];
      const vec b = r * rv[k] + fs * iv[k];
      Al[s * K + k] *= b;
      Gc[s * K + k] = Ev[lab + k] * b;
      tot[k] += b;
    }
  }
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) Bs[k] = tot[k];
}

template <class T>
using fwd_fn = void (*)(int64_t, int64_t, const int64_t*, const int32_t*, const T*, const int32_t*,
                        const T*, const T*, T*, T*);
template <class T>
using bwd_fn = void (*)(int64_t, int64_t, const int64_t*, const int32_t*, const T*, const int32_t*,
                        const T*, T*, const T*, T*, const T*, const T*, const T*, T*);

#define DEN_FWD_ARGS                                                                         \
  int64_t s0, int64_t s1, const int64_t *ptr, const int32_t *src, const T *w,                \
      const int32_t *label, const T *E, const T *prev, T *out, T *sum
#define DEN_BWD_ARGS                                                                         \
  int64_t s0, int64_t s1, const int64_t *ptr, const int32_t *dst, const T *w,                \
      const int32_t *label, const T *E, T *alpha, const T *gnext, T *gcur, const T *rec,       \
      const T *init, const T *fin, T *bsum
#define DEN_FWD_PASS s0, s1, ptr, src, w, label, E, prev, out, sum
#define DEN_BWD_PASS s0, s1, ptr, dst, w, label, E, alpha, gnext, gcur, rec, init, fin, bsum

template <class T, int W>
void fwd_base(DEN_FWD_ARGS) { fwd_impl<T, W, 16>(DEN_FWD_PASS); }
template <class T, int W>
void bwd_base(DEN_BWD_ARGS) { bwd_impl<T, W, 16>(DEN_BWD_PASS); }

#if DEN_X86
// Feature lists rather than arch=x86-64-v3/v4 names, which older compilers lack.
#define DEN_TARGET_AVX2 "avx2,fma"
#define DEN_TARGET_AVX512 "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"
template <class T, int W>
__attribute__((target(DEN_TARGET_AVX2))) void fwd_v3(DEN_FWD_ARGS) {
  fwd_impl<T, W, 32>(DEN_FWD_PASS);
}
template <class T, int W>
__attribute__((target(DEN_TARGET_AVX2))) void bwd_v3(DEN_BWD_ARGS) {
  bwd_impl<T, W, 32>(DEN_BWD_PASS);
}
template <class T, int W>
__attribute__((target(DEN_TARGET_AVX512))) void fwd_v4(DEN_FWD_ARGS) {
  fwd_impl<T, W, 64>(DEN_FWD_PASS);
}
template <class T, int W>
__attribute__((target(DEN_TARGET_AVX512))) void bwd_v4(DEN_BWD_ARGS) {
  bwd_impl<T, W, 64>(DEN_BWD_PASS);
}
#endif

int cpu_level_supported() {
#if DEN_X86
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
  return 0;
}

// 0 = baseline (SSE2), 1 = AVX2+FMA, 2 = AVX-512 (F, VL, BW, DQ). The environment variable
// CTC_CRF_DEN_ISA = sse2 | avx2 caps the level (for tests and comparisons).
int cpu_level() {
#if DEN_X86
  int cap = 2;
  if (const char* env = std::getenv("CTC_CRF_DEN_ISA")) {
    if (std::strcmp(env, "sse2") == 0 || std::strcmp(env, "baseline") == 0) cap = 0;
    else if (std::strcmp(env, "avx2") == 0) cap = 1;
  }
  return std::min(cap, cpu_level_supported());
#else
  return 0;
#endif
}

template <class T, int W>
void pick_kernels(fwd_fn<T>* f, bwd_fn<T>* b) {
  *f = &fwd_base<T, W>;
  *b = &bwd_base<T, W>;
#if DEN_X86
  const int lvl = cpu_level();
  if (lvl == 2) {
    *f = &fwd_v4<T, W>;
    *b = &bwd_v4<T, W>;
  } else if (lvl == 1) {
    *f = &fwd_v3<T, W>;
    *b = &bwd_v3<T, W>;
  }
#endif
}

// ---------------------------------------------------------------------------------------------
// Buffers

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// 64-byte aligned; buffers of 8 MiB or more are 2 MiB aligned and asked for transparent huge
// pages (fewer page faults on the first touch of the alpha store, fewer TLB misses).
template <class T>
std::unique_ptr<T, FreeDeleter> aligned_buffer(size_t count, bool zero) {
  constexpr size_t kHuge = size_t(2) << 20;
  size_t bytes = std::max<size_t>(count * sizeof(T), 64);
  const size_t align = bytes >= 4 * kHuge ? kHuge : 64;
  bytes = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  TORCH_CHECK(p != nullptr, "ctc_crf den kernel: cannot allocate ", bytes, " bytes");
#ifdef MADV_HUGEPAGE
  if (align == kHuge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  if (zero) std::memset(p, 0, bytes);
  return std::unique_ptr<T, FreeDeleter>(static_cast<T*>(p));
}

// Split states [0, S) into about `nchunks` contiguous ranges of similar cost (arcs + states).
std::vector<int64_t> make_chunks(const int64_t* ptr, int64_t S, int64_t nchunks) {
  std::vector<int64_t> b{0};
  const int64_t A = ptr[S];
  const double total = (double)A + 2.0 * (double)S;
  nchunks = std::max<int64_t>(1, std::min<int64_t>(nchunks, S));
  int64_t s = 0;
  for (int64_t c = 1; c < nchunks; ++c) {
    const double target = total * (double)c / (double)nchunks;
    while (s < S && (double)ptr[s] + 2.0 * (double)s < target) ++s;
    if (s > b.back() && s < S) b.push_back(s);
  }
  b.push_back(S);
  return b;
}

// Per-thread flush-to-zero / denormals-are-zero: values below ~1e-38 are irrelevant next to
// the per-frame sums of 1, and denormal arithmetic is very slow. Restored on scope exit.
struct DenormalGuard {
#if DEN_X86
  unsigned int saved;
  DenormalGuard() : saved(_mm_getcsr()) { _mm_setcsr(saved | 0x8040u); }
  ~DenormalGuard() { _mm_setcsr(saved); }
#endif
};

// ---------------------------------------------------------------------------------------------
// Driver

struct Graph {
  int64_t S, A, V;
  const int64_t *in_ptr, *out_ptr;
  const int32_t *in_src, *out_dst, *label;
  int64_t start;
};

template <class T, int W>
// Utterances order[0 .. N) (longest first) in groups of W.
void run_groups(const Graph& g, const T* w_in, const T* w_out, const T* fin, double fin_max,
                const T* lp, const int64_t* lengths, const int64_t* order, int64_t N,
                int64_t Tdim, T* log_z, T* grad, int nthreads) {
  const int64_t S = g.S, V = g.V, A = g.A;
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  fwd_fn<T> fwd;
  bwd_fn<T> bwd;
  pick_kernels<T, W>(&fwd, &bwd);

  const int64_t Tmax = lengths[order[0]];

  // Chunks of states handed out dynamically to threads. Their number depends on the graph only,
  // and every sum runs in a fixed order (within a chunk, then over chunks; by label over states
  // in index order), so the results do not depend on the thread count or on the scheduling.
  const int64_t nch = std::min<int64_t>(512, 1 + (A + 2 * S) / 8192);
  const std::vector<int64_t> fch = make_chunks(g.in_ptr, S, nch);
  const std::vector<int64_t> bch = make_chunks(g.out_ptr, S, nch);
  const int64_t nfch = (int64_t)fch.size() - 1, nbch = (int64_t)bch.size() - 1;
  nthreads = (int)std::max<int64_t>(1, std::min<int64_t>(nthreads, std::max(nfch, nbch)));

  // States grouped by label (counting sort, stable).
  // States that emit nothing (internal label V) are left out.
  std::vector<int64_t> lab_ptr(V + 2, 0);
  for (int64_t s = 0; s < S; ++s) ++lab_ptr[g.label[s] + 1];
  for (int64_t v = 0; v <= V; ++v) lab_ptr[v + 1] += lab_ptr[v];
  std::vector<int32_t> lab_states(S);
  {
    std::vector<int64_t> pos(lab_ptr.begin(), lab_ptr.end() - 1);
    for (int64_t s = 0; s < S; ++s) lab_states[pos[g.label[s]]++] = (int32_t)s;
  }

  const size_t row = (size_t)S * W;
  auto alpha_buf = aligned_buffer<T>(row * (size_t)Tmax, false);
  auto start_buf = aligned_buffer<T>(row, true);  // alpha_{-1}: one-hot at `start`
  auto g_buf = aligned_buffer<T>(2 * row, false);  // g_u = E_u * beta_u, two frames
  auto E_buf = aligned_buffer<T>((size_t)(V + 1) * W, true);  // row V: zero, never written
  auto G_buf = aligned_buffer<T>((size_t)V * W, false);  // occupancy summed by label
  auto fpart_buf = aligned_buffer<T>((size_t)nfch * W, false);  // per-chunk sums
  auto bpart_buf = aligned_buffer<T>((size_t)nbch * W, false);
  auto m_buf = aligned_buffer<double>((size_t)Tmax * W, false);  // per-frame max of log_probs
  T* alpha = alpha_buf.get();
  T* gb = g_buf.get();
  T* E = E_buf.get();
  T* G = G_buf.get();
  T* fpart = fpart_buf.get();
  T* bpart = bpart_buf.get();
  double* mx = m_buf.get();
  for (int j = 0; j < W; ++j) start_buf.get()[g.start * W + j] = T(1);

  alignas(64) T rec[W];   // backward: 1 / sum_s b_{u+1} where the recursion applies, else 0
  alignas(64) T init[W];  // backward: 1 at the last frame of the column, else 0
  double lacc[W];         // log Z accumulator
  int64_t len[W], utt[W];

  for (int64_t g0 = 0; g0 < N; g0 += W) {
    const int64_t ng = std::min<int64_t>(W, N - g0);
    for (int j = 0; j < W; ++j) {
      utt[j] = j < ng ? order[g0 + j] : -1;
      len[j] = j < ng ? lengths[utt[j]] : 0;
      lacc[j] = 0.0;
    }
    const int64_t Tg = len[0];
    std::memset(gb, 0, 2 * row * sizeof(T));

#pragma omp parallel num_threads(nthreads)
    {
      DenormalGuard ftz;

      // ---------------- forward ----------------
      // alpha_t = E_t / c_{t-1} * (W^T alpha_{t-1}), c_{t-1} = sum_s alpha_{t-1}; the 1 / c is
      // folded into the emission table E_t.
      for (int64_t t = 0; t < Tg; ++t) {
#pragma omp for schedule(static)
        for (int j = 0; j < W; ++j) {
          double c = 1.0;
          if (t > 0) {
            c = 0.0;
            for (int64_t k = 0; k < nfch; ++k) c += (double)fpart[k * W + j];
            if (t - 1 < len[j] - 1) lacc[j] += std::log(c);
          }
          const T iv = c > 0.0 ? T(1.0 / c) : T(0);
          if (t < len[j]) {
            const T* x = lp + ((size_t)utt[j] * Tdim + t) * V;
            T m = -std::numeric_limits<T>::infinity();
            for (int64_t v = 0; v < V; ++v) m = std::max(m, x[v]);
            if (m > -std::numeric_limits<T>::infinity()) {
              mx[t * W + j] = (double)m;
              lacc[j] += (double)m;
              for (int64_t v = 0; v < V; ++v) E[v * W + j] = std::exp(x[v] - m) * iv;
            } else {  // every emission of the frame is zero: no path
              mx[t * W + j] = 0.0;
              lacc[j] = kNegInf;
              for (int64_t v = 0; v < V; ++v) E[v * W + j] = T(0);
            }
          } else {
            for (int64_t v = 0; v < V; ++v) E[v * W + j] = T(0);
          }
        }
        const T* prev = t == 0 ? start_buf.get() : alpha + (size_t)(t - 1) * row;
        T* cur = alpha + (size_t)t * row;
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < nfch; ++k)
          fwd(fch[k], fch[k + 1], g.in_ptr, g.in_src, w_in, g.label, E, prev, cur, fpart + k * W);
      }

      // ---------------- backward ----------------
      // Frame u: b_u = rec * (W g_{u+1}) + init * final, with g_{u+1} = E_{u+1} b_{u+1};
      // occupancy alpha_u b_u, summed by label into G. The j-loop of iteration u finalizes frame
      // u+1 (gradient row, log Z) and sets up frame u.
      for (int64_t u = Tg - 1; u >= -1; --u) {
#pragma omp for schedule(static)
        for (int j = 0; j < W; ++j) {
          const int64_t f = u + 1;  // frame to finalize
          T ib = T(0);
          if (f < Tg) {
            double bs = 0.0;
            for (int64_t k = 0; k < nbch; ++k) bs += (double)bpart[k * W + j];
            ib = bs > 0.0 ? T(1.0 / bs) : T(0);
            if (f < len[j]) {
              T* gr = grad + ((size_t)utt[j] * Tdim + f) * V;
              double D = 0.0;
              for (int64_t v = 0; v < V; ++v) D += (double)G[v * W + j];
              if (D > 0.0) {
                const double sc = 1.0 / D;
                for (int64_t v = 0; v < V; ++v) gr[v] = (T)((double)G[v * W + j] * sc);
              }  // else: no path through this frame; the row stays zero
              if (f == len[j] - 1) lacc[j] += std::log(D) + fin_max;
            }
          }
          if (u >= 0) {
            rec[j] = u < len[j] - 1 ? ib : T(0);
            init[j] = u == len[j] - 1 ? T(1) : T(0);
            if (u < len[j]) {
              const T* x = lp + ((size_t)utt[j] * Tdim + u) * V;
              const T m = (T)mx[u * W + j];
              for (int64_t v = 0; v < V; ++v) E[v * W + j] = std::exp(x[v] - m);
            } else {
              for (int64_t v = 0; v < V; ++v) E[v * W + j] = T(0);
            }
          }
        }
        if (u < 0) continue;  // the last iteration only finalizes frame 0
        const T* gnext = gb + (size_t)((u + 1) & 1) * row;
        T* gcur = gb + (size_t)(u & 1) * row;
        T* al = alpha + (size_t)u * row;  // alpha_u, overwritten by the occupancy
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < nbch; ++k)
          bwd(bch[k], bch[k + 1], g.out_ptr, g.out_dst, w_out, g.label, E, al, gnext, gcur, rec,
              init, fin, bpart + k * W);
#pragma omp for schedule(dynamic, 16)
        for (int64_t v = 0; v < V; ++v) {
          T acc[W];
          for (int j = 0; j < W; ++j) acc[j] = T(0);
          for (int64_t i = lab_ptr[v]; i < lab_ptr[v + 1]; ++i) {
            const T* o = al + (size_t)lab_states[i] * W;
            for (int j = 0; j < W; ++j) acc[j] += o[j];
          }
          for (int j = 0; j < W; ++j) G[v * W + j] = acc[j];
        }
      }
    }  // omp parallel

    for (int64_t j = 0; j < ng; ++j) {
      const double lz = lacc[j];
      log_z[utt[j]] = (T)lz;
      if (!(lz > kNegInf))  // no path (or NaN input): zero gradient
        std::memset(grad + (size_t)utt[j] * Tdim * V, 0, (size_t)Tdim * V * sizeof(T));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Binding

torch::Tensor as_index(const torch::Tensor& x, const char* name, int64_t numel,
                       torch::ScalarType want) {
  TORCH_CHECK(x.device().is_cpu(), "den forward_backward: `", name, "` must be a CPU tensor");
  TORCH_CHECK(x.scalar_type() == torch::kInt32 || x.scalar_type() == torch::kInt64,
              "den forward_backward: `", name, "` must be int32 or int64, got ", x.scalar_type());
  TORCH_CHECK(x.dim() == 1 && x.numel() == numel, "den forward_backward: `", name,
              "` must be 1-D of size ", numel, ", got shape ", x.sizes());
  return x.to(want).contiguous();
}

torch::Tensor as_float(const torch::Tensor& x, const char* name, int64_t numel,
                       torch::ScalarType want) {
  TORCH_CHECK(x.device().is_cpu(), "den forward_backward: `", name, "` must be a CPU tensor");
  TORCH_CHECK(x.scalar_type() == want, "den forward_backward: `", name,
              "` must have the dtype of log_probs (", want, "), got ", x.scalar_type());
  TORCH_CHECK(x.dim() == 1 && x.numel() == numel, "den forward_backward: `", name,
              "` must be 1-D of size ", numel, ", got shape ", x.sizes());
  return x.contiguous();
}

void check_csr(const torch::Tensor& ptr, const torch::Tensor& idx, int64_t S, const char* pname,
               const char* iname) {
  const int64_t* p = ptr.data_ptr<int64_t>();
  const int64_t A = idx.numel();
  TORCH_CHECK(p[0] == 0 && p[S] == A, "den forward_backward: `", pname, "` must start at 0 and end at ",
              A, " (the number of arcs), got ", p[0], " and ", p[S]);
  for (int64_t s = 0; s < S; ++s)
    TORCH_CHECK(p[s] <= p[s + 1], "den forward_backward: `", pname, "` must be non-decreasing");
  const int32_t* q = idx.data_ptr<int32_t>();
  for (int64_t a = 0; a < A; ++a)
    TORCH_CHECK(q[a] >= 0 && q[a] < S, "den forward_backward: `", iname,
                "` holds a state index out of [0, ", S, "): ", q[a]);
}

std::tuple<torch::Tensor, torch::Tensor> forward_backward(
    const torch::Tensor& log_probs, const torch::Tensor& input_lengths, const torch::Tensor& in_ptr,
    const torch::Tensor& in_src, const torch::Tensor& in_logw, const torch::Tensor& out_ptr,
    const torch::Tensor& out_dst, const torch::Tensor& out_logw, const torch::Tensor& state_label,
    const torch::Tensor& final_logw, int64_t start) {
  const at::NoGradGuard no_grad;  // plain tensor math here, never part of a graph
  TORCH_CHECK(log_probs.device().is_cpu(), "den forward_backward: `log_probs` must be a CPU tensor");
  TORCH_CHECK(log_probs.dim() == 3, "den forward_backward: `log_probs` must be (N, T, V), got shape ",
              log_probs.sizes());
  const auto dt = log_probs.scalar_type();
  TORCH_CHECK(dt == torch::kFloat32 || dt == torch::kFloat64,
              "den forward_backward: `log_probs` must be float32 or float64, got ", dt);
  const int64_t N = log_probs.size(0), Tdim = log_probs.size(1), V = log_probs.size(2);
  TORCH_CHECK(N >= 1 && Tdim >= 1 && V >= 1, "den forward_backward: `log_probs` is empty: ",
              log_probs.sizes());
  TORCH_CHECK(in_ptr.dim() == 1 && in_ptr.numel() >= 2,
              "den forward_backward: `in_ptr` must be 1-D of size S+1 >= 2, got shape ", in_ptr.sizes());
  const int64_t S = in_ptr.numel() - 1;
  const int64_t A = in_src.numel();
  TORCH_CHECK(S < (int64_t)std::numeric_limits<int32_t>::max(),
              "den forward_backward: too many states for int32 indices: ", S);

  auto lp = log_probs.contiguous();
  auto lens = as_index(input_lengths, "input_lengths", N, torch::kInt64);
  auto iptr = as_index(in_ptr, "in_ptr", S + 1, torch::kInt64);
  auto isrc = as_index(in_src, "in_src", A, torch::kInt32);
  auto iw = as_float(in_logw, "in_logw", A, dt);
  auto optr = as_index(out_ptr, "out_ptr", S + 1, torch::kInt64);
  auto odst = as_index(out_dst, "out_dst", A, torch::kInt32);
  auto ow = as_float(out_logw, "out_logw", A, dt);
  auto lab = as_index(state_label, "state_label", S, torch::kInt32);
  auto fw = as_float(final_logw, "final_logw", S, dt);
  TORCH_CHECK(start >= 0 && start < S, "den forward_backward: `start` must be a state in [0, ", S,
              "), got ", start);
  {
    const int64_t* l = lens.data_ptr<int64_t>();
    for (int64_t n = 0; n < N; ++n)
      TORCH_CHECK(l[n] >= 1 && l[n] <= Tdim, "den forward_backward: `input_lengths` must lie in [1, ",
                  Tdim, "], got ", l[n], " at index ", n);
  }
  // Internal labels: -1 (a state that emits nothing, so is never entered, e.g. a start state
  // without incoming arcs) becomes V, the index of an all-zero row of the emission table.
  std::vector<int32_t> lab_int(S);
  {
    const int32_t* lb = lab.data_ptr<int32_t>();
    for (int64_t s = 0; s < S; ++s) {
      TORCH_CHECK(lb[s] >= -1 && lb[s] < V, "den forward_backward: `state_label` must lie in [0, ",
                  V, ") (V = log_probs.size(2)), or be -1 for a state never entered; got ", lb[s],
                  " for state ", s);
      lab_int[s] = lb[s] < 0 ? (int32_t)V : lb[s];
    }
  }
  check_csr(iptr, isrc, S, "in_ptr", "in_src");
  check_csr(optr, odst, S, "out_ptr", "out_dst");

  auto log_z = torch::empty({N}, lp.options());
  auto grad = torch::zeros({N, Tdim, V}, lp.options());
  // Arc index arrays padded with kPrefetch zeros for the prefetch that reads ahead.
  auto pad = [&](const torch::Tensor& x) {
    auto buf = aligned_buffer<int32_t>((size_t)A + kPrefetch + 16, true);
    std::memcpy(buf.get(), x.data_ptr<int32_t>(), (size_t)A * sizeof(int32_t));
    return buf;
  };
  auto isrc_pad = pad(isrc);
  auto odst_pad = pad(odst);
  Graph g{S, A, V, iptr.data_ptr<int64_t>(), optr.data_ptr<int64_t>(), isrc_pad.get(),
          odst_pad.get(), lab_int.data(), start};
  // Small problems are not worth waking a thread team.
  int nthreads = std::max(1, at::get_num_threads());
  if (A * std::min<int64_t>(N, 16) < (1 << 16)) nthreads = 1;

  AT_DISPATCH_FLOATING_TYPES(dt, "den_forward_backward", [&] {
    using T = scalar_t;
    auto w_in = iw.exp();
    auto w_out = ow.exp();
    const T* fl = fw.data_ptr<T>();
    double fmax = -std::numeric_limits<double>::infinity();
    for (int64_t s = 0; s < S; ++s) fmax = std::max(fmax, (double)fl[s]);
    std::vector<T> fin(S, T(0));
    if (fmax > -std::numeric_limits<double>::infinity()) {
      for (int64_t s = 0; s < S; ++s) fin[s] = (T)std::exp((double)fl[s] - fmax);
    } else {
      fmax = 0.0;  // no final state: every log Z is -inf through log(D = 0)
    }
    // Longest utterances first, in groups of 16; a last group of at most 8 uses 8-wide rows.
    const int64_t* l = lens.data_ptr<int64_t>();
    std::vector<int64_t> order(N);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
    const int64_t rest = N % 16, n16 = rest > 8 ? N : N - rest;
    if (n16 > 0)
      run_groups<T, 16>(g, w_in.data_ptr<T>(), w_out.data_ptr<T>(), fin.data(), fmax,
                        lp.data_ptr<T>(), l, order.data(), n16, Tdim, log_z.data_ptr<T>(),
                        grad.data_ptr<T>(), nthreads);
    if (n16 < N)
      run_groups<T, 8>(g, w_in.data_ptr<T>(), w_out.data_ptr<T>(), fin.data(), fmax,
                       lp.data_ptr<T>(), l, order.data() + n16, N - n16, Tdim, log_z.data_ptr<T>(),
                       grad.data_ptr<T>(), nthreads);
  });
  return {log_z, grad};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "CTC-CRF denominator forward-backward, CPU (OpenMP) kernel";
  m.def("forward_backward", &forward_backward, py::call_guard<py::gil_scoped_release>(),
        "(log_probs, input_lengths, in_ptr, in_src, in_logw, out_ptr, out_dst, out_logw, "
        "state_label, final_logw, start) -> (log_z (N,), grad (N,T,V)): log partition of the "
        "denominator graph per utterance and its gradient w.r.t. log_probs (state occupancies).",
        py::arg("log_probs"), py::arg("input_lengths"), py::arg("in_ptr"), py::arg("in_src"),
        py::arg("in_logw"), py::arg("out_ptr"), py::arg("out_dst"), py::arg("out_logw"),
        py::arg("state_label"), py::arg("final_logw"), py::arg("start"));
}
