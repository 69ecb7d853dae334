"""Search strategies behind one interface (`Strategy`), picked by name with `get_strategy`.

`StrategyOptions` gathers every strategy's own options as sections (flags --st-recompute,
--snas-update, ...), for the search stage's options.
"""
from __future__ import annotations

from dataclasses import make_dataclass
from typing import Dict, Type

from nas.options import section
from nas.strategies.base import Strategy
from nas.strategies.darts import DartsStrategy
from nas.strategies.proxyless import ProxylessStrategy
from nas.strategies.random_search import RandomStrategy
from nas.strategies.snas import SnasStrategy
from nas.strategies.st import STStrategy

STRATEGIES: Dict[str, Type[Strategy]] = {s.name: s for s in
                                          (STStrategy, DartsStrategy, SnasStrategy, ProxylessStrategy, RandomStrategy)}

StrategyOptions = make_dataclass("StrategyOptions", [(n, c.Options, section(c.Options, prefix=n))
                                                     for n, c in STRATEGIES.items() if c.Options is not None])


def get_strategy(name: str, net, options=None, **kwargs) -> Strategy:
    """A strategy by name: st (default of the recipes), darts, snas, proxyless, random.
    `options`: the strategy's own options (default: their defaults), or a StrategyOptions."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown search method {name!r}; known: {', '.join(STRATEGIES)}")
    if isinstance(options, StrategyOptions):
        options = getattr(options, name, None)
    return STRATEGIES[name](net, options, **kwargs)
