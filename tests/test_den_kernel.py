"""The compiled CTC-CRF denominator kernels: `ctc_crf._den_cpu`, and `ctc_crf._den_cuda` (its .cu
compiled with nvcc where nvcc is on PATH; compared with the CPU kernel where a GPU is present).

Graphs are built here at random: S states, each with a label in [0, V), arcs (src, dst, logw),
final weights; the kernel sees them as incoming and outgoing CSR. References: brute-force
enumeration of state sequences (tiny T) and a numpy log-domain (logsumexp) forward.

`python tests/test_den_kernel.py [S] [arcs_per_state] [N] [T]` times one forward-backward.
"""
import itertools
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

try:
    from ctc_crf import _den_cpu as den_cpu
except ImportError:  # not built: only the nvcc compile check runs
    den_cpu = None

needs_cpu_kernel = pytest.mark.skipif(den_cpu is None, reason="ctc_crf._den_cpu is not built")

CSRC = Path(__file__).resolve().parents[1] / "src" / "ctc_crf" / "csrc"


# ----------------------------------------------------------------------------------------------
# graphs


class RandGraph:
    """A random denominator-like graph with about `arcs_per_state` incoming arcs per state:
    a self-loop on every state and an arc from the start state to every state (so that paths of
    any length exist), the rest between random states."""

    def __init__(self, S, V, arcs_per_state, rng, final_frac=0.3, self_loops=True):
        src, dst = [], []
        if self_loops:
            src += [np.arange(S), np.zeros(S, dtype=np.int64)]
            dst += [np.arange(S), np.arange(S)]
        extra = max(0, S * arcs_per_state - (2 * S if self_loops else 0))
        src.append(rng.integers(0, S, extra))
        dst.append(rng.integers(0, S, extra))
        self.set_arcs(np.concatenate(src), np.concatenate(dst), rng.uniform(-3.0, 0.0, sum(map(len, src))))
        self.S, self.V = S, V
        self.label = rng.integers(0, V, S)
        self.label[0] = 0
        fin = np.full(S, -np.inf)
        nf = max(1, int(final_frac * S))
        fin[rng.choice(S, nf, replace=False)] = rng.uniform(-2.0, 0.0, nf)
        self.final = fin
        self.start = 0

    def set_arcs(self, src, dst, logw):
        self.src, self.dst, self.logw = np.asarray(src), np.asarray(dst), np.asarray(logw, dtype=np.float64)

    def csr(self, dtype=torch.float64):
        S = self.S

        def group(key, other):
            order = np.argsort(key, kind="stable")
            ptr = np.zeros(S + 1, dtype=np.int64)
            np.add.at(ptr, key + 1, 1)
            ptr = np.cumsum(ptr)
            return (
                torch.from_numpy(ptr),
                torch.from_numpy(other[order].astype(np.int32)),
                torch.from_numpy(self.logw[order]).to(dtype),
            )

        in_ptr, in_src, in_logw = group(self.dst, self.src)
        out_ptr, out_dst, out_logw = group(self.src, self.dst)
        return dict(
            in_ptr=in_ptr, in_src=in_src, in_logw=in_logw,
            out_ptr=out_ptr, out_dst=out_dst, out_logw=out_logw,
            state_label=torch.from_numpy(self.label.astype(np.int32)),
            final_logw=torch.from_numpy(self.final).to(dtype),
            start=int(self.start),
        )


def run(graph, log_probs, lengths):
    c = graph.csr(log_probs.dtype)
    return den_cpu.forward_backward(
        log_probs, torch.as_tensor(lengths, dtype=torch.int64), c["in_ptr"], c["in_src"], c["in_logw"],
        c["out_ptr"], c["out_dst"], c["out_logw"], c["state_label"], c["final_logw"], c["start"],
    )


def rand_log_probs(N, T, V, rng, dtype=torch.float64, scale=2.0):
    x = torch.from_numpy(rng.normal(size=(N, T, V)) * scale)
    return torch.log_softmax(x, dim=-1).to(dtype)


# ----------------------------------------------------------------------------------------------
# references


def brute_force_log_z(graph, lp, T_n):
    """Sum over all state sequences s_0..s_{T_n-1} (S ** T_n of them)."""
    S = graph.S
    Wm = np.zeros((S, S))
    np.add.at(Wm, (graph.src, graph.dst), np.exp(graph.logw))
    fin = np.exp(graph.final)
    e = np.where(graph.label >= 0, np.exp(lp[:T_n][:, graph.label]), 0.0)  # (T_n, S)
    total = 0.0
    for seq in itertools.product(range(S), repeat=T_n):
        p = Wm[graph.start, seq[0]] * e[0, seq[0]]
        for t in range(1, T_n):
            p *= Wm[seq[t - 1], seq[t]] * e[t, seq[t]]
        total += p * fin[seq[-1]]
    return np.log(total) if total > 0 else -np.inf


def logsumexp_by(values, keys, K):
    m = np.full(K, -np.inf)
    np.maximum.at(m, keys, values)
    safe = np.where(np.isfinite(m), m, 0.0)
    acc = np.zeros(K)
    np.add.at(acc, keys, np.exp(values - safe[keys]))
    with np.errstate(divide="ignore"):
        return np.where(acc > 0, np.log(acc) + safe, -np.inf)


def numpy_log_z(graph, lp, T_n):
    """Log-domain forward in float64."""
    lp = np.asarray(lp, dtype=np.float64)
    alpha = np.full(graph.S, -np.inf)
    alpha[graph.start] = 0.0
    for t in range(T_n):
        emit = np.where(graph.label >= 0, lp[t, graph.label], -np.inf)  # label -1: never entered
        alpha = logsumexp_by(alpha[graph.src] + graph.logw, graph.dst, graph.S) + emit
    v = alpha + graph.final
    m = v.max()
    return m + np.log(np.exp(v - m).sum()) if np.isfinite(m) else -np.inf


# ----------------------------------------------------------------------------------------------
# tests


@needs_cpu_kernel
def test_brute_force_mixed_lengths():
    rng = np.random.default_rng(0)
    g = RandGraph(S=7, V=4, arcs_per_state=3, rng=rng)
    lengths = [4, 1, 3, 2, 4]
    lp = rand_log_probs(len(lengths), 4, 4, rng)
    log_z, grad = run(g, lp, lengths)
    assert log_z.dtype == torch.float64 and grad.shape == lp.shape
    for n, T_n in enumerate(lengths):
        ref = brute_force_log_z(g, lp[n].numpy(), T_n)
        assert np.isfinite(ref)
        assert log_z[n].item() == pytest.approx(ref, rel=1e-12, abs=1e-12)
        # occupancies: one unit of probability per valid frame, none after the end
        np.testing.assert_allclose(grad[n, :T_n].sum(-1).numpy(), 1.0, rtol=1e-12)
        assert torch.all(grad[n, T_n:] == 0)
        assert torch.all(grad[n] >= 0)


@needs_cpu_kernel
@pytest.mark.parametrize("N", [3, 11, 21])  # groups of 8, 16, and 16 + 5
def test_against_numpy_forward(N):
    rng = np.random.default_rng(N)
    g = RandGraph(S=40, V=9, arcs_per_state=5, rng=rng)
    T = 200
    lengths = rng.integers(1, T + 1, N)
    lengths[0] = T
    lp64 = rand_log_probs(N, T, 9, rng)
    lz64, gr64 = run(g, lp64, lengths)
    lz32, gr32 = run(g, lp64.float(), lengths)
    assert lz32.dtype == torch.float32 and gr32.dtype == torch.float32
    for n in range(N):
        ref = numpy_log_z(g, lp64[n].numpy(), lengths[n])
        assert lz64[n].item() == pytest.approx(ref, rel=1e-9)
        assert lz32[n].item() == pytest.approx(ref, rel=1e-4)
    assert torch.allclose(gr32.double(), gr64, atol=1e-4)


@needs_cpu_kernel
def test_label_minus_one_states_are_never_entered():
    """As in the composed den graph: a start state with label -1 and no incoming arcs; another
    state with label -1 that has incoming arcs is never entered either."""
    rng = np.random.default_rng(9)
    g = RandGraph(S=9, V=5, arcs_per_state=3, rng=rng)
    keep = g.dst != 0  # no arc into state 0 (the start)
    g.set_arcs(g.src[keep], g.dst[keep], g.logw[keep])
    g.label = g.label.copy()
    g.label[0] = -1
    g.label[4] = -1
    g.final[4] = -0.5
    lengths = [3, 1, 2]
    lp = rand_log_probs(3, 3, 5, rng)
    for dtype in (torch.float64, torch.float32):
        log_z, grad = run(g, lp.to(dtype), lengths)
        for n, T_n in enumerate(lengths):
            ref = brute_force_log_z(g, lp[n].numpy(), T_n)
            assert np.isfinite(ref)
            assert log_z[n].item() == pytest.approx(ref, rel=1e-6 if dtype == torch.float32 else 1e-12)
            np.testing.assert_allclose(grad[n, :T_n].sum(-1).double().numpy(), 1.0, rtol=1e-5)


@needs_cpu_kernel
def test_gradient_finite_differences():
    rng = np.random.default_rng(1)
    g = RandGraph(S=7, V=4, arcs_per_state=3, rng=rng)
    lengths = [5, 3]
    lp = rand_log_probs(2, 5, 4, rng)
    log_z, grad = run(g, lp, lengths)
    eps = 1e-6
    fd = torch.zeros_like(lp)
    for idx in itertools.product(range(2), range(5), range(4)):
        hi, lo = lp.clone(), lp.clone()
        hi[idx] += eps
        lo[idx] -= eps
        n = idx[0]
        fd[idx] = (run(g, hi, lengths)[0][n] - run(g, lo, lengths)[0][n]) / (2 * eps)
    torch.testing.assert_close(grad, fd, atol=1e-7, rtol=1e-6)


@needs_cpu_kernel
def test_gradient_matches_autograd_of_reference():
    """Gradient on a bigger graph against autograd through a torch log-domain forward."""
    rng = np.random.default_rng(2)
    g = RandGraph(S=30, V=6, arcs_per_state=4, rng=rng)
    lengths = [25, 17, 1]
    lp = rand_log_probs(3, 25, 6, rng)
    _, grad = run(g, lp, lengths)
    src, dst = torch.from_numpy(g.src), torch.from_numpy(g.dst)
    logw, lab = torch.from_numpy(g.logw), torch.from_numpy(g.label)
    x = lp.clone().requires_grad_(True)
    total = 0.0
    for n, T_n in enumerate(lengths):
        alpha = torch.full((g.S,), -torch.inf, dtype=torch.float64)
        alpha[g.start] = 0.0
        for t in range(T_n):
            vals = alpha[src] + logw
            m = torch.full((g.S,), -torch.inf, dtype=torch.float64).scatter_reduce(0, dst, vals, "amax")
            acc = torch.zeros(g.S, dtype=torch.float64).index_add(0, dst, torch.exp(vals - m[dst]))
            alpha = torch.log(acc) + m + x[n, t, lab]
        total = total + torch.logsumexp(alpha + torch.from_numpy(g.final), 0)
    total.backward()
    torch.testing.assert_close(grad, x.grad, atol=1e-10, rtol=1e-9)


@needs_cpu_kernel
def test_long_peaky_inputs_are_stable():
    rng = np.random.default_rng(3)
    g = RandGraph(S=20, V=6, arcs_per_state=4, rng=rng)
    T = 5000
    lengths = [T, 3000]
    lp64 = rand_log_probs(2, T, 6, rng, scale=12.0)  # peaky: near one-hot posteriors
    lz64, gr64 = run(g, lp64, lengths)
    lz32, gr32 = run(g, lp64.float(), lengths)
    assert torch.isfinite(lz64).all() and torch.isfinite(lz32).all()
    assert torch.isfinite(gr64).all() and torch.isfinite(gr32).all()
    for n in range(2):
        ref = numpy_log_z(g, lp64[n].numpy(), lengths[n])
        assert lz64[n].item() == pytest.approx(ref, rel=1e-9)
        assert lz32[n].item() == pytest.approx(ref, rel=1e-4)
    np.testing.assert_allclose(gr64[0].sum(-1).numpy(), 1.0, rtol=1e-9)
    assert (gr32.double() - gr64).abs().max().item() < 1e-3


@needs_cpu_kernel
def test_no_path_gives_minus_inf_and_zero_grad():
    # chain 0 -> 1 -> 2, final at 2 only: exactly 2 frames
    rng = np.random.default_rng(4)
    g = RandGraph(S=3, V=3, arcs_per_state=1, rng=rng, self_loops=False)
    g.set_arcs([0, 1], [1, 2], [-0.5, -0.25])
    g.label = np.array([0, 1, 2])
    g.final = np.array([-np.inf, -np.inf, -0.1])
    lp = rand_log_probs(4, 3, 3, rng)
    lp[3, 1, 2] = -torch.inf  # the only path needs label 2 at frame 1
    for dtype in (torch.float64, torch.float32):
        log_z, grad = run(g, lp.to(dtype), [2, 3, 1, 2])
        want = lp[0, 0, 1] + lp[0, 1, 2] - 0.5 - 0.25 - 0.1
        assert log_z[0].item() == pytest.approx(want.item(), rel=1e-6)
        assert torch.all(torch.isneginf(log_z[1:]))
        assert not torch.isnan(grad).any()
        assert torch.all(grad[1:] == 0)
        assert grad[0, 0, 1] == pytest.approx(1.0) and grad[0, 1, 2] == pytest.approx(1.0)
    # no final state at all
    g.final = np.full(3, -np.inf)
    log_z, grad = run(g, lp, [2, 2, 1, 3])
    assert torch.all(torch.isneginf(log_z)) and torch.all(grad == 0)


@needs_cpu_kernel
def test_two_threads_identical_results():
    rng = np.random.default_rng(5)
    g = RandGraph(S=600, V=20, arcs_per_state=12, rng=rng)  # big enough for the threaded path
    lengths = rng.integers(40, 81, 16)
    lp = rand_log_probs(16, 80, 20, rng, dtype=torch.float32)
    want = run(g, lp, lengths)
    out = [None, None]

    def work(i):
        out[i] = [run(g, lp, lengths) for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for res in out:
        for log_z, grad in res:
            assert torch.equal(log_z, want[0]) and torch.equal(grad, want[1])
    # the result does not depend on the thread count either
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run(g, lp, lengths)
    finally:
        torch.set_num_threads(n)
    assert torch.equal(one[0], want[0]) and torch.equal(one[1], want[1])


@needs_cpu_kernel
def test_argument_checks():
    rng = np.random.default_rng(6)
    g = RandGraph(S=5, V=3, arcs_per_state=2, rng=rng)
    c = g.csr()
    lp = rand_log_probs(2, 4, 3, rng)
    lens = torch.tensor([4, 2])
    args = dict(log_probs=lp, input_lengths=lens, **c)

    def call(**kw):
        a = dict(args)
        a.update(kw)
        return den_cpu.forward_backward(**a)

    call()  # fine
    with pytest.raises(RuntimeError, match="in_logw"):
        call(in_logw=c["in_logw"].float())
    with pytest.raises(RuntimeError, match="input_lengths"):
        call(input_lengths=torch.tensor([5, 2]))
    with pytest.raises(RuntimeError, match="input_lengths"):
        call(input_lengths=torch.tensor([0, 2]))
    with pytest.raises(RuntimeError, match="state_label"):
        call(state_label=torch.full((5,), 3, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="state_label"):
        call(state_label=torch.full((5,), -2, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="in_src"):
        bad = c["in_src"].clone()
        bad[0] = 5
        call(in_src=bad)
    with pytest.raises(RuntimeError, match="out_ptr"):
        call(out_ptr=c["out_ptr"][:-1])
    with pytest.raises(RuntimeError, match="start"):
        call(start=5)
    with pytest.raises(RuntimeError, match="log_probs"):
        call(log_probs=lp.to(torch.int64))
    # int64 indices and a non-contiguous log_probs are accepted
    lz, gr = call(in_src=c["in_src"].long(), state_label=c["state_label"].long(),
                  log_probs=lp.transpose(0, 1).contiguous().transpose(0, 1))
    lz0, gr0 = call()
    assert torch.equal(lz, lz0) and torch.equal(gr, gr0)


@needs_cpu_kernel
@pytest.mark.parametrize("N", [5, 16])  # vector widths 8 and 16
def test_isa_levels_agree(N, monkeypatch):
    """The AVX-512, AVX2 and baseline builds of the hot loops give the same results (the
    environment variable caps the level; a CPU without AVX-512 runs a lower one anyway)."""
    rng = np.random.default_rng(8)
    g = RandGraph(S=60, V=8, arcs_per_state=9, rng=rng)
    lengths = rng.integers(1, 51, N)
    lp = rand_log_probs(N, 50, 8, rng)
    monkeypatch.delenv("CTC_CRF_DEN_ISA", raising=False)
    base64, base32 = run(g, lp, lengths), run(g, lp.float(), lengths)
    for isa in ("avx2", "sse2"):
        monkeypatch.setenv("CTC_CRF_DEN_ISA", isa)
        got64, got32 = run(g, lp, lengths), run(g, lp.float(), lengths)
        torch.testing.assert_close(got64[0], base64[0], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got64[1], base64[1], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(got32[0], base32[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got32[1], base32[1], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_cuda_kernels_compile(tmp_path):
    src = CSRC / "den_cuda_kernels.cu"
    res = subprocess.run(
        ["nvcc", "-std=c++17", "-c", str(src), "-o", str(tmp_path / "den_cuda_kernels.o")],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr


@needs_cpu_kernel
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    den_cuda = pytest.importorskip("ctc_crf._den_cuda", reason="ctc_crf._den_cuda is not built")
    rng = np.random.default_rng(7)
    g = RandGraph(S=50, V=7, arcs_per_state=6, rng=rng)
    lengths = rng.integers(1, 121, 9)
    for dtype in (torch.float64, torch.float32):
        lp = rand_log_probs(9, 120, 7, rng, dtype=dtype)
        want = run(g, lp, lengths)
        c = {k: (v.cuda() if torch.is_tensor(v) else v) for k, v in g.csr(dtype).items()}
        got = den_cuda.forward_backward(lp.cuda(), torch.as_tensor(lengths).cuda(), **c)
        tol = 1e-9 if dtype == torch.float64 else 1e-4
        torch.testing.assert_close(got[0].cpu(), want[0], rtol=tol, atol=tol)
        torch.testing.assert_close(got[1].cpu(), want[1], rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------------------


def _bench(S=12000, arcs_per_state=70, N=16, T=300, V=100, reps=5):
    import time

    rng = np.random.default_rng(0)
    g = RandGraph(S=S, V=V, arcs_per_state=arcs_per_state, rng=rng)
    A = len(g.src)
    for dtype in (torch.float32, torch.float64):
        lp = rand_log_probs(N, T, V, rng, dtype=dtype)
        c = g.csr(dtype)
        lens = torch.full((N,), T, dtype=torch.int64)
        args = (lp, lens, c["in_ptr"], c["in_src"], c["in_logw"], c["out_ptr"], c["out_dst"],
                c["out_logw"], c["state_label"], c["final_logw"], c["start"])
        den_cpu.forward_backward(*args)
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            log_z, _ = den_cpu.forward_backward(*args)
            best = min(best, time.perf_counter() - t0)
        print(f"{dtype}: S={S} A={A} N={N} T={T} threads={torch.get_num_threads()}: "
              f"{best:.3f} s per forward-backward, {A * T * N / best / 1e9:.2f} G arc-frames/s, "
              f"log_z[0]={log_z[0].item():.3f}")


if __name__ == "__main__":
    _bench(*map(int, sys.argv[1:]))
