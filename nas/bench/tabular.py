"""Search methods over a benchmark table (an Objective): random search, regularized evolution,
local search and a Gaussian-process BO, all driven alike so that their regret curves compare.

Every method proposes vectors through one Driver, which does what must be the same for all:
- the budget: a number of queries (new models) or simulated time, the sum of the queried models'
  Eval.cost. A time budget ends the run at the first model whose training would not finish within
  it; that model is neither counted nor shown to the method, so the time used never exceeds it.
- the cache: a vector whose model (same model hash) was already queried gets the cached Eval and
  costs neither a query nor time, as a table lookup of a model trained before would.
- the trace: after each new query, the queries and time so far and the incumbent (the lowest
  validation error so far; ties keep the earlier) with its test error.
Methods name vectors by their index in a Space (the objective's vectors with their model ids and
one-position neighbours), which is built once (about 2 s for NAS-Bench-ASR's 13,824 vectors) and
shared by repeated runs. The Space takes the positions' sizes and the model hash from the
objective's codec (its `codec` attribute, NAS-Bench-ASR's when it has none: nas.bench.codec), so
the methods run on a table of any search space. All randomness comes from the numpy Generator a
run gets from its seed.
"""
from __future__ import annotations

import time
import warnings
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from nas.bench.archvec import SHAPE, ArchVec, flatten
from nas.bench.codec import NB_ASR, Codec
from nas.bench.objective import Eval, Objective

SIZES = [n for shape in SHAPE for n in shape]     # NAS-Bench-ASR's choices per position (a Space has .sizes)
Vector = Union[int, Sequence[Sequence[int]]]       # a Space index or an arch vector


class Space:
    """The vectors an objective answers for, grouped into models, with their neighbourhoods.

    `codec` (nas.bench.codec) checks the vectors and gives each position's number of choices
    (`sizes`) and, unless hash_fn is given, the model hash."""

    def __init__(self, vectors: Sequence[Sequence[Sequence[int]]],
                 hash_fn: Optional[Callable[[ArchVec], str]] = None, codec: Codec = NB_ASR):
        self.codec = codec
        self.sizes: List[int] = list(codec.sizes)         # choices per position of the flattened vector
        hash_fn = codec.hash if hash_fn is None else hash_fn
        self.vectors: List[ArchVec] = [codec.check(v) for v in vectors]
        if not self.vectors:
            raise ValueError("the objective has no vectors to search")
        self.flat = np.array([flatten(v) for v in self.vectors], dtype=np.int64)
        self._index = {tuple(row): i for i, row in enumerate(self.flat.tolist())}
        if len(self._index) != len(self.vectors):
            raise ValueError("the objective lists some vector twice")
        ids: Dict[str, int] = {}
        self.model = np.array([ids.setdefault(hash_fn(v), len(ids)) for v in self.vectors])
        self.hashes: List[str] = list(ids)                       # model id -> model hash
        self.members: List[List[int]] = [[] for _ in ids]        # model id -> vector indices
        for i, m in enumerate(self.model.tolist()):
            self.members[m].append(i)
        # one-hot of a position with more than 2 choices (an op), one bit for a binary one (a skip):
        # vectors of nearby models lie near each other
        cols = [np.eye(n)[self.flat[:, p]] if n > 2 else self.flat[:, p:p + 1] for p, n in enumerate(self.sizes)]
        self.features = np.hstack(cols).astype(float)
        self._neighbours: Dict[int, np.ndarray] = {}

    @classmethod
    def of(cls, objective: Objective, hash_fn: Optional[Callable[[ArchVec], str]] = None) -> "Space":
        """The Space of `objective`'s vectors, with its codec (NB_ASR when it has no `codec`)."""
        return cls(objective.vectors(), hash_fn, codec=getattr(objective, "codec", NB_ASR))

    @property
    def n_vectors(self) -> int:
        return len(self.vectors)

    @property
    def n_models(self) -> int:
        return len(self.hashes)

    def index(self, vec: Vector) -> int:
        """The index of `vec`; KeyError when the objective does not answer for it."""
        if isinstance(vec, (int, np.integer)):
            return int(vec)
        key = tuple(flatten(self.codec.check(vec)))
        if key not in self._index:
            raise KeyError(f"{vec!r} is not a vector of the objective")
        return self._index[key]

    def find(self, flat: Sequence[int]) -> Optional[int]:
        return self._index.get(tuple(int(x) for x in flat))

    def neighbours(self, i: int) -> np.ndarray:
        """The space's vectors that differ from vector i in exactly one position."""
        if i not in self._neighbours:
            row, out = self.flat[i].tolist(), []
            for p, n in enumerate(self.sizes):
                for v in range(n):
                    if v != row[p]:
                        j = self.find(row[:p] + [v] + row[p + 1:])
                        if j is not None:
                            out.append(j)
            self._neighbours[i] = np.array(out, dtype=np.int64)
        return self._neighbours[i]


@dataclass(frozen=True)
class Step:
    """The state after one new query."""
    queries: int
    time: Optional[float]      # simulated seconds so far; None when the objective has no costs
    index: int                 # the vector queried (a Space index)
    model_hash: str
    val: float
    test: float
    best_val: float            # the incumbent's validation error ...
    best_test: float           # ... and test error
    best_hash: str


@dataclass
class Trace:
    """One run: its steps and why it stopped ("queries", "time", "space", "stalled" or "method")."""
    method: str
    seed: int
    steps: List[Step] = field(default_factory=list)
    stop: str = ""
    wall_s: float = 0.0


class BudgetSpent(Exception):
    """Raised by Driver.query when the run must stop; run_method catches it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Driver:
    """Budget accounting, the cache and the trace of one run (see the module doc)."""

    def __init__(self, objective: Objective, space: Space, budget_queries: Optional[int] = None,
                 budget_time: Optional[float] = None, max_free: Optional[int] = None):
        check_budget(budget_queries, budget_time)
        self.objective, self.space = objective, space
        self.budget_queries, self.budget_time = budget_queries, budget_time
        # a method that only re-queries cached models would never stop: end it after this many
        self.max_free = 100 * space.n_models + 1000 if max_free is None else max_free
        self.seen = np.zeros(space.n_models, dtype=bool)
        self.cache: Dict[int, Eval] = {}                  # model id -> Eval
        self.history: List[tuple] = []                    # (vector index, Eval) of each new query
        self.steps: List[Step] = []
        self.queries, self.time, self.free_in_row = 0, 0.0, 0   # free: cached re-queries in a row
        self.best: Optional[Eval] = None

    def queried(self, vec: Vector) -> bool:
        return bool(self.seen[self.space.model[self.space.index(vec)]])

    def query(self, vec: Vector) -> Eval:
        """`vec`'s Eval: cached (free) when its model was queried, else a new query, which may
        raise BudgetSpent before (time would overrun) or after it (the budget is used up)."""
        i = self.space.index(vec)
        m = int(self.space.model[i])
        if m in self.cache:
            self.free_in_row += 1
            if self.free_in_row > self.max_free:
                raise BudgetSpent("stalled")
            return self.cache[m]
        ev = self.objective.evaluate(self.space.vectors[i])
        if self.budget_time is not None:
            if ev.cost is None:
                raise ValueError(f"a time budget needs costs, and the objective has none for "
                                 f"{self.space.vectors[i]}: give budget_queries instead")
            if self.time + ev.cost > self.budget_time:
                raise BudgetSpent("time")
        if ev.cost is not None:
            self.time += ev.cost
        self.queries += 1
        self.free_in_row = 0
        self.seen[m] = True
        self.cache[m] = ev
        self.history.append((i, ev))
        if self.best is None or ev.val < self.best.val:
            self.best = ev
        self.steps.append(Step(self.queries, self.time if ev.cost is not None else None, i, ev.model_hash,
                               ev.val, ev.test, self.best.val, self.best.test, self.best.model_hash))
        if self.budget_queries is not None and self.queries >= self.budget_queries:
            raise BudgetSpent("queries")
        if self.queries == self.space.n_models:
            raise BudgetSpent("space")
        return ev

    def random_unqueried(self, rng: np.random.Generator) -> int:
        """A uniformly drawn vector among those whose model was not queried yet."""
        for _ in range(32):
            i = int(rng.integers(self.space.n_vectors))
            if not self.seen[self.space.model[i]]:
                return i
        left = np.flatnonzero(~self.seen[self.space.model])
        if not len(left):
            raise BudgetSpent("space")
        return int(left[rng.integers(len(left))])


def check_budget(budget_queries: Optional[int], budget_time: Optional[float]) -> None:
    if (budget_queries is None) == (budget_time is None):
        raise ValueError("give exactly one budget: budget_queries (a number of models) "
                         "or budget_time (simulated seconds)")
    if budget_queries is not None and budget_queries < 1:
        raise ValueError(f"budget_queries must be at least 1, not {budget_queries}")
    if budget_time is not None and not budget_time > 0:
        raise ValueError(f"budget_time must be positive, not {budget_time}")


# --- the methods: each runs until Driver.query raises BudgetSpent ------------------------------

@dataclass(frozen=True)
class RandomOptions:
    pass


def random_search(drv: Driver, rng: np.random.Generator, opts: RandomOptions) -> None:
    """Vectors uniformly in random order, skipping those of models already queried."""
    for i in rng.permutation(drv.space.n_vectors).tolist():
        if not drv.seen[drv.space.model[i]]:
            drv.query(i)


@dataclass(frozen=True)
class REAOptions:
    population: int = 20     # models alive at once (Real et al. use 100 for 400k+ models)
    sample: int = 5          # tournament size
    immigrant_after: int = 100   # cached children in a row before a random new model joins instead


def mutate(space: Space, i: int, rng: np.random.Generator, tries: int = 100) -> int:
    """Vector i with one position changed to another valid value, re-drawn until the mutant's
    model differs from the parent's (a random vector if no such mutant turns up)."""
    row = space.flat[i].tolist()
    for _ in range(tries):
        p = int(rng.integers(len(row)))
        if space.sizes[p] < 2:                     # a block with one candidate cannot change
            continue
        v = int(rng.integers(space.sizes[p] - 1))
        j = space.find(row[:p] + [v + (v >= row[p])] + row[p + 1:])
        if j is not None and space.model[j] != space.model[i]:
            return j
    return int(rng.integers(space.n_vectors))


def regularized_evolution(drv: Driver, rng: np.random.Generator, opts: REAOptions) -> None:
    """Real et al. 2019: the best of a random sample of the population begets a one-position
    mutant; the oldest member dies, whatever its fitness. A population stuck among cached models
    (which cost nothing, so would loop forever) takes in a random unqueried model instead."""
    population: deque = deque()
    while len(population) < opts.population:
        i = drv.random_unqueried(rng)
        population.append((i, drv.query(i)))
    while True:
        picks = rng.choice(len(population), size=min(opts.sample, len(population)), replace=False)
        parent = min(picks.tolist(), key=lambda k: (population[k][1].val, k))
        if drv.free_in_row >= opts.immigrant_after:
            child = drv.random_unqueried(rng)
        else:
            child = mutate(drv.space, population[parent][0], rng)
        population.append((child, drv.query(child)))
        population.popleft()


@dataclass(frozen=True)
class LSOptions:
    pass


def local_search(drv: Driver, rng: np.random.Generator, opts: LSOptions) -> None:
    """White et al. 2021: query every one-position neighbour (in random order), move to the best
    if it beats the current architecture, else restart from a random unqueried one."""
    while True:
        cur = drv.random_unqueried(rng)
        cur_ev = drv.query(cur)
        while True:
            best, best_ev = None, cur_ev
            for j in rng.permutation(drv.space.neighbours(cur)).tolist():
                ev = drv.query(j)
                if ev.val < best_ev.val:
                    best, best_ev = j, ev
            if best is None:
                break
            cur, cur_ev = best, best_ev


@dataclass(frozen=True)
class BOOptions:
    n_init: int = 10             # random models before the first fit
    batch: int = 10              # queries per fit: refitting rarely keeps 100 runs under a minute
    pool_random: int = 200       # random unqueried models scored per round ...
    pool_top: int = 5            # ... plus every neighbour of the best this many queried models
    acquisition: str = "ei"      # "ei" (expected improvement) or "lcb" (mean - kappa * std)
    kappa: float = 2.0
    length_scales: tuple = (1.0, 2.0, 4.0)   # Matern kernel grid, picked by marginal likelihood
    noise_levels: tuple = (1e-2, 1e-1)       # of the standardized errors


def fit_gp(x: np.ndarray, y: np.ndarray, opts: BOOptions) -> Any:
    """A GP on standardized y whose length scale and noise are the grid's most likely: sklearn's
    own optimizer (L-BFGS) measured 60-300 ms a fit here, the grid about 6 ms."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    def gp(kernel):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None).fit(x, y)

    model = gp(Matern(opts.length_scales[0], nu=2.5) + WhiteKernel(opts.noise_levels[0]))
    grid = [np.log([ls, nl]) for ls in opts.length_scales for nl in opts.noise_levels]
    lml = [model.log_marginal_likelihood(theta) for theta in grid]
    return gp(model.kernel.clone_with_theta(grid[int(np.argmax(lml))]))


def acquisition(mu: np.ndarray, sd: np.ndarray, best: float, opts: BOOptions) -> np.ndarray:
    """Higher is better, for minimizing the error."""
    from scipy.stats import norm

    if opts.acquisition == "lcb":
        return -(mu - opts.kappa * sd)
    if opts.acquisition != "ei":
        raise ValueError(f"unknown acquisition {opts.acquisition!r}: ei or lcb")
    sd = np.maximum(sd, 1e-12)
    z = (best - mu) / sd
    return (best - mu) * norm.cdf(z) + sd * norm.pdf(z)


def bayesian_optimization(drv: Driver, rng: np.random.Generator, opts: BOOptions) -> None:
    """GP regression of val on the one-hot vectors; each round scores a pool of random models
    and mutants of the best ones and queries the `batch` best by the acquisition."""
    space = drv.space
    for _ in range(opts.n_init):
        drv.query(drv.random_unqueried(rng))
    while True:
        idx = np.array([i for i, _ in drv.history])
        vals = np.array([ev.val for _, ev in drv.history])
        model = fit_gp(space.features[idx], vals, opts)
        draws = rng.integers(space.n_vectors, size=2 * opts.pool_random).tolist()
        top = idx[np.argsort(vals, kind="stable")[:opts.pool_top]].tolist()
        pool: Dict[int, int] = {}                  # model id -> vector index, unqueried only
        for i in draws[:opts.pool_random] + [j for t in top for j in space.neighbours(t).tolist()]:
            if not drv.seen[space.model[i]]:
                pool.setdefault(int(space.model[i]), i)
        if not pool:
            i = drv.random_unqueried(rng)
            pool[int(space.model[i])] = i
        cand = np.array(list(pool.values()))
        mu, sd = model.predict(space.features[cand], return_std=True)
        score = acquisition(mu, sd, float(vals.min()), opts)
        for i in cand[np.argsort(-score, kind="stable")[:opts.batch]].tolist():
            drv.query(i)


@dataclass(frozen=True)
class Method:
    search: Callable[[Driver, np.random.Generator, Any], None]
    options: type
    description: str


METHODS: Dict[str, Method] = {
    "random": Method(random_search, RandomOptions, "random search, without replacement over models"),
    "rea": Method(regularized_evolution, REAOptions, "regularized evolution (Real et al. 2019)"),
    "ls": Method(local_search, LSOptions, "local search with random restarts (White et al. 2021)"),
    "bo": Method(bayesian_optimization, BOOptions, "GP Bayesian optimization with expected improvement"),
}


def options_of(registry: Dict[str, Any], method: str, **opts: Any) -> Any:
    """A registry method's options dataclass (its `.options`); an unknown method or option name is an
    error naming the known ones, not silently ignored."""
    if method not in registry:
        raise ValueError(f"unknown method {method!r}: one of {sorted(registry)}")
    cls = registry[method].options
    known = {f.name for f in fields(cls)}
    bad = sorted(set(opts) - known)
    if bad:
        raise TypeError(f"method {method!r} has no options {bad}; it has {sorted(known)}")
    return cls(**opts)


def make_options(method: str, **opts: Any) -> Any:
    """The options of one of METHODS."""
    return options_of(METHODS, method, **opts)


def run_method(objective: Objective, method: str, budget_queries: Optional[int] = None,
               budget_time: Optional[float] = None, seed: int = 0, space: Optional[Space] = None,
               **opts: Any) -> Trace:
    """One run of `method` (a METHODS name) with options `opts`, deterministic given `seed`."""
    options = make_options(method, **opts)
    space = Space.of(objective) if space is None else space
    drv = Driver(objective, space, budget_queries, budget_time)
    trace = Trace(method, seed)
    start = time.perf_counter()
    try:
        METHODS[method].search(drv, np.random.default_rng(seed), options)
        trace.stop = "method"
    except BudgetSpent as e:
        trace.stop = e.reason
    trace.wall_s = time.perf_counter() - start
    trace.steps = drv.steps
    return trace
