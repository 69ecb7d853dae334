"""Multi-objective search over a benchmark table: minimize an error rate and a cost (latency,
parameters) at once; each method returns a set, the non-dominated models of what it queried.

The search sees each model's validation error (Objective.evaluate's `val`) and its cost; the
set it returns is judged by the test error (`test`) with the cost: the hypervolume of the set's
(test, cost) points over that of the table's true (test, cost) front, with one reference point
for both (nas.bench.pareto). Budgets, the cache of queried models and the mutation come from
nas.bench.tabular (Driver, Space, mutate), so a query costs here what it costs there.

Methods:
- random: tabular.random_search's queries (vectors uniformly, no model twice); the set is the
  non-dominated subset of everything queried.
- rea: regularized evolution (Real et al. 2019: tournament of `sample` members, a one-position
  mutant of the winner, the oldest dies) whose tournament is NSGA-II's crowded comparison (Deb,
  Pratap, Agarwal, Meyarivan 2002, section III-C: the lower non-domination rank wins, within a
  rank the larger crowding distance), ranks and distances computed over the current population,
  as NSGA-II computes them over its population. Ties go to the older member.
- rea-cheb: the same evolution, each tournament won by the lowest augmented Chebyshev
  scalarization under weights drawn afresh (uniformly on the simplex), ParEGO's rule (Knowles
  2006): max_j w_j f_j + rho sum_j w_j f_j, rho 0.05, on objectives scaled to [0, 1] over the
  current population.
Both evolutions return the non-dominated subset of every model they queried, not of the
population alone.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from nas.bench.objective import Objective
from nas.bench.pareto import Front, crowded_order, dominates, hypervolume, true_front
from nas.bench.tabular import (BudgetSpent, Driver, RandomOptions, Space, check_budget, mutate, options_of,
                               random_search)


class MOProblem:
    """An Objective with a cost per model: the arrays val, test, cost (one entry per model of the
    Space, in its model-id order) and the true fronts of (test, cost) and of (val, cost), with
    reference points from `ref_from` (nas.bench.pareto.true_front) unless `ref` gives the test one."""

    def __init__(self, objective: Objective, costs: Mapping[str, float], cost_name: str,
                 space: Optional[Space] = None, ref: Optional[Sequence[float]] = None, ref_from: str = "front"):
        self.objective = objective
        self.space = Space.of(objective) if space is None else space
        self.cost_name = cost_name
        self.hashes: List[str] = list(self.space.hashes)
        missing = [h for h in self.hashes if h not in costs]
        if missing:
            raise ValueError(f"cost {cost_name}: {len(missing)} of the {len(self.hashes)} models have no cost "
                             f"(first: {missing[0]})")
        evals = [objective.evaluate(self.space.vectors[m[0]]) for m in self.space.members]
        self.val = np.array([e.val for e in evals], dtype=float)
        self.test = np.array([e.test for e in evals], dtype=float)
        self.cost = np.array([float(costs[h]) for h in self.hashes], dtype=float)
        self.front: Front = true_front(self.test, self.cost, ref, ref_from=ref_from)   # what judges a found set
        self.val_front: Front = true_front(self.val, self.cost, ref_from=ref_from)     # what the search sees
        seen = self.val_front.index                  # the set a run that queried every model returns:
        self.ceiling = hypervolume(np.column_stack([self.test[seen], self.cost[seen]]), self.front.ref) \
            / self.front.hypervolume                 # what a run's test ratio tends to with its budget

    @property
    def n_models(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True)
class MORandomOptions:
    pass


@dataclass(frozen=True)
class MOREAOptions:
    population: int = 20        # as tabular.REAOptions
    sample: int = 5             # tournament size
    immigrant_after: int = 100  # cached children in a row before a random new model joins instead
    rho: float = 0.05           # rea-cheb: weight of the augmenting sum (ParEGO's)

    def __post_init__(self) -> None:
        if self.population < 1 or self.sample < 1:
            raise ValueError(f"population ({self.population}) and sample ({self.sample}) must be at least 1")


def crowded_pick(objs: np.ndarray, picks: np.ndarray, rng: np.random.Generator, opts: MOREAOptions) -> int:
    """NSGA-II's crowded comparison among `picks`, ranks and distances over the population."""
    order = crowded_order(objs)
    return min(picks.tolist(), key=lambda k: (order[k, 0], order[k, 1], k))


def chebyshev_pick(objs: np.ndarray, picks: np.ndarray, rng: np.random.Generator, opts: MOREAOptions) -> int:
    """ParEGO's augmented Chebyshev scalarization under fresh random weights, lowest wins."""
    w = rng.dirichlet(np.ones(objs.shape[1]))
    lo, hi = objs.min(axis=0), objs.max(axis=0)
    scaled = (objs - lo) / np.where(hi > lo, hi - lo, 1.0)
    score = (w * scaled).max(axis=1) + opts.rho * (w * scaled).sum(axis=1)
    return min(picks.tolist(), key=lambda k: (score[k], k))


Selector = Callable[[np.ndarray, np.ndarray, np.random.Generator, MOREAOptions], int]


def mo_regularized_evolution(drv: Driver, rng: np.random.Generator, opts: MOREAOptions, problem: MOProblem,
                             select: Selector) -> None:
    """Regularized evolution as tabular.regularized_evolution, with the tournament won by `select`
    on the members' (val, cost)."""
    population: deque = deque()

    def member(i: int) -> tuple:
        drv.query(i)                               # may end the run (BudgetSpent)
        m = int(drv.space.model[i])
        return i, (problem.val[m], problem.cost[m])

    while len(population) < opts.population:
        population.append(member(drv.random_unqueried(rng)))
    while True:
        picks = rng.choice(len(population), size=min(opts.sample, len(population)), replace=False)
        parent = select(np.array([p[1] for p in population]), picks, rng, opts)
        if drv.free_in_row >= opts.immigrant_after:
            child = drv.random_unqueried(rng)
        else:
            child = mutate(drv.space, population[parent][0], rng)
        population.append(member(child))
        population.popleft()


def _random(drv: Driver, rng: np.random.Generator, opts: MORandomOptions, problem: MOProblem) -> None:
    random_search(drv, rng, RandomOptions())


def _rea(drv: Driver, rng: np.random.Generator, opts: MOREAOptions, problem: MOProblem) -> None:
    mo_regularized_evolution(drv, rng, opts, problem, crowded_pick)


def _rea_cheb(drv: Driver, rng: np.random.Generator, opts: MOREAOptions, problem: MOProblem) -> None:
    mo_regularized_evolution(drv, rng, opts, problem, chebyshev_pick)


@dataclass(frozen=True)
class MOMethod:
    search: Callable[[Driver, np.random.Generator, Any, MOProblem], None]
    options: type
    description: str


MO_METHODS: Dict[str, MOMethod] = {
    "random": MOMethod(_random, MORandomOptions, "random search; the non-dominated set of its queries"),
    "rea": MOMethod(_rea, MOREAOptions, "regularized evolution, NSGA-II crowded-comparison tournaments"),
    "rea-cheb": MOMethod(_rea_cheb, MOREAOptions, "regularized evolution, random Chebyshev scalarization "
                         "per tournament (ParEGO)"),
}


def make_mo_options(method: str, **opts: Any) -> Any:
    """The options of one of MO_METHODS (nas.bench.tabular.options_of)."""
    return options_of(MO_METHODS, method, **opts)


@dataclass
class MOTrace:
    """One run: the model ids it queried, in order, and why it stopped."""
    method: str
    seed: int
    models: List[int] = field(default_factory=list)
    stop: str = ""
    wall_s: float = 0.0


def run_mo(problem: MOProblem, method: str, budget: int, seed: int = 0, **opts: Any) -> MOTrace:
    """One run of `method` with at most `budget` queries, deterministic given `seed`."""
    options = make_mo_options(method, **opts)
    check_budget(budget, None)
    drv = Driver(problem.objective, problem.space, budget_queries=budget)
    trace = MOTrace(method, seed)
    start = time.perf_counter()
    try:
        MO_METHODS[method].search(drv, np.random.default_rng(seed), options, problem)
        trace.stop = "method"
    except BudgetSpent as e:
        trace.stop = e.reason
    trace.wall_s = time.perf_counter() - start
    trace.models = [int(problem.space.model[i]) for i, _ in drv.history]
    return trace


def found_set(problem: MOProblem, models: Sequence[int]) -> List[int]:
    """The models of `models` that no other of them dominates in (val, cost): what a run returns."""
    pts = [(problem.val[m], problem.cost[m]) for m in models]
    return [m for k, m in enumerate(models) if not any(dominates(q, pts[k]) for q in pts)]


def ratio_curves(problem: MOProblem, models: Sequence[int], budget: int) -> np.ndarray:
    """(2, budget): after each query k = 1..budget, the hypervolume ratio of the set found so far
    in (test, cost) against the true test front, and in (val, cost) against the true val front
    (what the search could see). A run that stopped early keeps its last values."""
    out = np.zeros((2, budget))
    kept: List[int] = []
    hv_test = hv_val = 0.0
    for k, m in enumerate(models[:budget]):
        p = (problem.val[m], problem.cost[m])
        if not any(dominates((problem.val[j], problem.cost[j]), p) for j in kept):
            kept = [j for j in kept if not dominates(p, (problem.val[j], problem.cost[j]))] + [m]
            hv_test = hypervolume(np.column_stack([problem.test[kept], problem.cost[kept]]), problem.front.ref)
            hv_val = hypervolume(np.column_stack([problem.val[kept], problem.cost[kept]]), problem.val_front.ref)
        out[:, k] = hv_test / problem.front.hypervolume, hv_val / problem.val_front.hypervolume
    if models:
        out[:, len(models):] = out[:, [min(len(models), budget) - 1]]
    return out


def run_many_mo(problem: MOProblem, method: str, runs: int, budget: int, seed: int = 0,
                **opts: Any) -> List[MOTrace]:
    """`runs` runs with seeds seed .. seed + runs - 1."""
    make_mo_options(method, **opts)
    check_budget(budget, None)
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    return [run_mo(problem, method, budget, s, **opts) for s in range(seed, seed + runs)]
