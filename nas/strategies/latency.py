"""Latency in one-shot search (issue 30, part 3): a soft expected-latency term in alpha's loss, or
a hard budget on what the search samples and derives, from a measured lookup table.

The table (nas.bench.latency, docs/latency.md) gives every candidate of every searching block a
latency in ms and a fixed part; an architecture's predicted latency is the fixed part plus its
choices'. Under the per-block probabilities pi of a search, the expected latency is

    E[LAT] = fixed + sum_blocks sum_ops pi_b(op) * lat(b, op),

a differentiable function of alpha (the softmax), so its gradient reaches every alpha directly,
whatever estimator the method uses for the loss (ST, DARTS, SNAS, ProxylessNAS's two paths).

soft mode, `--latency-form` (L: the method's architecture loss, T: --latency-target in ms, w:
--latency-weight, beta: --latency-beta; each weight's default is its reference's):

    add      L + w (E - T) / T           ProxylessNAS's "add#linear" (its paper's additive
                                         lambda2 E[LAT], normalized by the reference); w 0.1
    mul-log  L * w (log E / log T)^beta  ProxylessNAS's release, "mul#log"; w 0.2, beta 0.3
    fbnet    L * w (log E)^beta          FBNet (Wu et al. 2019, eq. 2), no target; w 0.2, beta 0.6
    mul      L * w (E / T)^beta          MnasNet's ACC (LAT / T)^w reward as a loss factor; w 1, beta 0.07

The additive form goes through Update.extra; the multiplicative ones through Update.objective,
which the training step must apply (Update.total).

hard mode: T is a budget. Derivation returns the most probable architecture (maximum sum over
blocks of log pi) whose predicted latency is at most T, exactly (`best_within`: a dynamic
program over blocks that keeps the Pareto front of (latency, log-probability) of the prefixes,
with the table's own float sums, so that its answer is the brute-force answer). Sampling during
the search draws from pi conditioned on the budget by rejection (unbiased: the exact conditional
distribution), and after `tries` rejections in a row draws block by block among the candidates
that still leave a completion within the budget (biased towards what fits early; counted in the
record as "fallbacks").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from nas.bench.latency import LatencyError, LatencyTable, load_latency_table
from nas.options import AT_LEAST_1, NON_NEGATIVE, option

# form -> (the reference's weight, its exponent); None: the form has none
FORMS: Dict[str, Tuple[float, Optional[float]]] = {"add": (0.1, None), "mul-log": (0.2, 0.3),
                                                   "fbnet": (0.2, 0.6), "mul": (1.0, 0.07)}
NEEDS_TARGET = ("add", "mul-log", "mul")
SLACK = 1e-9           # ms: pruning tolerance for float sums; every answer is checked with the exact sum


@dataclass
class LatencyOptions:
    """The search stage's latency options (SearchConfig inherits them: flags --latency-table, ...;
    flat fields, so that an options record made before them reads as made at their defaults)."""
    latency_table: str = option("", "latency lookup table of the search space (latency-NAME.json of python -m "
                                    "nas.bin.bench latency); empty: no latency term and no budget")
    latency_mode: str = option("soft", "soft: an expected-latency term in alpha's loss (--latency-form); hard: "
                                       "derive the most probable architecture within --latency-target ms and sample "
                                       "only such architectures during the search", choices=("soft", "hard"))
    latency_target: float = option(0.0, "ms: soft: the term's reference latency (forms add, mul-log, mul); hard: "
                                        "the budget", check=NON_NEGATIVE)
    latency_form: str = option("add", "soft: add (ProxylessNAS add#linear), mul-log (ProxylessNAS mul#log), fbnet "
                                      "(FBNet), mul (MnasNet-style); docs/nas.md", choices=tuple(FORMS))
    latency_weight: Optional[float] = option(None, "soft: the term's weight (the form's reference: add 0.1, mul-log "
                                                   "0.2, fbnet 0.2, mul 1)", type=float, check=NON_NEGATIVE)
    latency_beta: Optional[float] = option(None, "soft: the exponent of the multiplicative forms (mul-log 0.3, "
                                                 "fbnet 0.6, mul 0.07)", type=float, check=NON_NEGATIVE)
    latency_tries: int = option(100, "hard: rejection-sampling tries per sample before drawing block by block "
                                     "within the budget", check=AT_LEAST_1)

    def __post_init__(self) -> None:
        if not self.latency_table:
            return
        mode, form, target = self.latency_mode, self.latency_form, self.latency_target
        if mode == "hard" and target <= 0:
            raise ValueError("--latency-mode hard needs --latency-target, the budget in ms (> 0)")
        if mode == "soft" and form in NEEDS_TARGET and target <= 0:
            raise ValueError(f"--latency-form {form} needs --latency-target, its reference latency in ms (> 0)")
        if mode == "soft" and form == "mul-log" and target <= 1:
            raise ValueError(f"--latency-form mul-log divides by log(--latency-target): the target must exceed "
                             f"1 ms (got {target:g})")

    def resolved(self) -> Tuple[float, Optional[float]]:
        """(weight, beta): the given ones, or the form's reference values."""
        w, b = FORMS[self.latency_form]
        return ((w if self.latency_weight is None else self.latency_weight),
                (b if self.latency_beta is None or b is None else self.latency_beta))


def best_within(costs: Sequence[Sequence[float]], scores: Sequence[Sequence[float]], budget: float,
                fixed: float = 0.0) -> Optional[Tuple[List[int], float, float]]:
    """The choice (one index per block) of maximum total score whose latency, fixed + the chosen
    costs summed in block order, is at most `budget`; with that latency and score. None when no
    choice fits. Exact: a prefix (latency l, score s) is dropped only when another prefix has
    latency <= l and score >= s (float addition is monotone, so any completion of the dropped one
    does no better), or when even the cheapest completion exceeds the budget."""
    n = len(costs)
    rest = [0.0] * (n + 1)                    # cheapest completion of blocks b.. (pruning only)
    for b in range(n - 1, -1, -1):
        rest[b] = rest[b + 1] + min(costs[b])
    front: List[Tuple[float, float, Tuple[int, ...]]] = [(fixed, 0.0, ())]
    for b in range(n):
        grown = [(lat + c, s + sc, ch + (k,)) for lat, s, ch in front
                 for k, (c, sc) in enumerate(zip(costs[b], scores[b])) if lat + c + rest[b + 1] <= budget + SLACK]
        grown.sort(key=lambda t: (t[0], -t[1]))
        front, best = [], -math.inf
        for t in grown:
            if t[1] > best or (not front and t[1] == best):
                front.append(t)
                best = t[1]
    fits = [t for t in front if t[0] <= budget]
    if not fits:
        return None
    lat, score, choice = max(fits, key=lambda t: (t[1], -t[0]))
    return list(choice), lat, score


class LatencyModel:
    """A search's latency table and options, over the super-network's blocks (in its block order)."""

    def __init__(self, opts: LatencyOptions, table: LatencyTable, blocks: Sequence[str]):
        self.opts, self.table = opts, table
        self.blocks = list(blocks)
        self.costs = [table.costs(b) for b in self.blocks]
        self.fixed = table.fixed_ms
        self.weight, self.beta = opts.resolved()
        self.target, self.form = opts.latency_target, opts.latency_form      # the budget in hard mode
        self.stats = {"samples": 0, "rejected": 0, "fallbacks": 0}
        self.objective_pending = False        # a multiplicative objective handed out and not yet applied
        cheap = [min(range(len(c)), key=c.__getitem__) for c in self.costs]
        self.cheapest = (cheap, self.predict(cheap))
        self._check_reachable()

    @property
    def hard(self) -> bool:
        return self.opts.latency_mode == "hard"

    def _check_reachable(self) -> None:
        low = self.cheapest[1]
        if self.hard and low > self.target:
            raise LatencyError(f"{self.table.source}: no architecture fits the budget --latency-target "
                               f"{self.target:g} ms: the cheapest possible one takes {low:.4g} ms")
        if not self.hard and self.form in ("mul-log", "fbnet") and low <= 1.0:
            raise LatencyError(f"{self.table.source}: --latency-form {self.form} takes log(E[LAT]) in ms, "
                               f"which must exceed 0 (> 1 ms), but the cheapest architecture takes {low:.4g} ms; "
                               f"use --latency-form add or mul")

    # --- prediction
    def predict(self, choice: Sequence[int]) -> float:
        """ms of one architecture, summed as LatencyTable.predict does (fixed, then block order)."""
        total = self.fixed
        for c, k in zip(self.costs, choice):
            total += c[k]
        return total

    def expected(self, probs: Sequence[torch.Tensor]) -> torch.Tensor:
        """E[LAT] under per-block probabilities (tensors in block order), differentiable."""
        total = torch.zeros((), dtype=probs[0].dtype, device=probs[0].device) + self.fixed
        for p, c in zip(probs, self.costs):
            total = total + (p * torch.tensor(c, dtype=p.dtype, device=p.device)).sum()
        return total

    # --- the soft term
    def additive(self, probs_fn: Callable[[], Sequence[torch.Tensor]]) -> Optional[Callable[[], torch.Tensor]]:
        """The term added to alpha's loss (form add), or None."""
        if self.hard or self.form != "add":
            return None
        t = self.target
        return lambda: self.weight * (self.expected(probs_fn()) - t) / t

    def objective(self, probs_fn: Callable[[], Sequence[torch.Tensor]]) -> Optional[Callable[[torch.Tensor],
                                                                                                torch.Tensor]]:
        """loss -> loss times the form's factor (the multiplicative forms), or None."""
        if self.hard or self.form == "add":
            return None
        self.objective_pending = True

        def apply(loss: torch.Tensor) -> torch.Tensor:
            self.objective_pending = False
            return loss * self.factor(self.expected(probs_fn()))
        return apply

    def factor(self, e: torch.Tensor) -> torch.Tensor:
        """The multiplicative forms' factor of E[LAT] (ms)."""
        w, beta, t, form = self.weight, self.beta, self.target, self.form
        if form == "mul-log":
            return w * (torch.log(e) / math.log(t)) ** beta
        if form == "fbnet":
            return w * torch.log(e) ** beta
        return w * (e / t) ** beta

    # --- the hard budget
    def best(self, probs: Sequence[torch.Tensor]) -> List[int]:
        """The most probable architecture within the budget (exact; see best_within)."""
        scores = [torch.log(p.detach().double().cpu()).tolist() for p in probs]
        found = best_within(self.costs, scores, self.target, self.fixed)
        if found is None or self.predict(found[0]) > self.target:      # cannot happen: checked at start
            raise LatencyError(f"no architecture within {self.target:g} ms (cheapest {self.cheapest[1]:.4g} ms)")
        return found[0]

    def sample(self, probs: Sequence[torch.Tensor], generator: torch.Generator) -> List[int]:
        """One architecture from pi conditioned on the budget (module doc: rejection, then a fallback)."""
        ps = [p.detach().double().cpu() for p in probs]
        self.stats["samples"] += 1
        for _ in range(self.opts.latency_tries):
            z = [int(torch.multinomial(p, 1, generator=generator)) for p in ps]
            if self.predict(z) <= self.target:
                return z
            self.stats["rejected"] += 1
        self.stats["fallbacks"] += 1
        return self._sequential(ps, generator)

    def _sequential(self, ps: Sequence[torch.Tensor], generator: torch.Generator) -> List[int]:
        """Block by block, among the candidates that leave a completion within the budget."""
        rest = [0.0] * (len(ps) + 1)
        for b in range(len(ps) - 1, -1, -1):
            rest[b] = rest[b + 1] + min(self.costs[b])
        z: List[int] = []
        spent = self.fixed
        for b, p in enumerate(ps):
            ok = torch.tensor([spent + c + rest[b + 1] <= self.target + SLACK for c in self.costs[b]])
            if not bool(ok.any()):
                return list(self.cheapest[0])
            q = torch.where(ok, p, torch.zeros_like(p))
            q = q if float(q.sum()) > 0 else ok.double()
            z.append(int(torch.multinomial(q, 1, generator=generator)))
            spent += self.costs[b][z[-1]]
        return z if self.predict(z) <= self.target else list(self.cheapest[0])

    # --- what arch.json records
    def record(self, choice: Sequence[int], probs: Optional[Sequence[torch.Tensor]] = None) -> Dict[str, object]:
        """arch.json's "latency": the table, its setting, the predicted ms, the budget or target."""
        o = self.opts
        out: Dict[str, object] = {"table": str(Path(o.latency_table).resolve()), "space": self.table.space,
                                  "kind": self.table.kind, "setting": self.table.setting, "mode": o.latency_mode,
                                  "predicted_ms": round(self.predict(choice), 6)}
        if self.hard:
            out.update(budget_ms=o.latency_target, sampling=dict(self.stats, tries=o.latency_tries))
        else:
            form = o.latency_form
            out.update(form=form, weight=self.weight, **({"beta": self.beta} if form != "add" else {}),
                       **({"target_ms": o.latency_target} if form in NEEDS_TARGET else {}))
        if probs is not None:
            out["expected_ms"] = round(float(self.expected([p.detach().double().cpu() for p in probs])), 6)
        out["cheapest_ms"] = round(self.cheapest[1], 6)
        return out

    def state_dict(self) -> dict:
        return dict(self.stats)

    def load_state_dict(self, state: dict) -> None:
        self.stats.update(state)


def load_latency(opts: LatencyOptions, space, blocks: Sequence[str]) -> Optional[LatencyModel]:
    """The latency model of `opts` for `space` (None without --latency-table); LatencyError when the
    table is unreadable, of another space, or no architecture can meet the budget."""
    if not opts.latency_table:
        return None
    table = load_latency_table(opts.latency_table)
    table.check_space(space)
    return LatencyModel(opts, table, blocks)
