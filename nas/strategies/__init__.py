"""Search strategies behind one interface (`Strategy`), picked by name with `get_strategy`."""
from __future__ import annotations

from typing import Dict, Type

from nas.strategies.base import Strategy
from nas.strategies.darts import DartsStrategy
from nas.strategies.proxyless import ProxylessStrategy
from nas.strategies.random_search import RandomStrategy
from nas.strategies.snas import SnasStrategy
from nas.strategies.st import STStrategy

STRATEGIES: Dict[str, Type[Strategy]] = {s.name: s for s in
                                          (STStrategy, DartsStrategy, SnasStrategy, ProxylessStrategy, RandomStrategy)}


def get_strategy(name: str, net, **kwargs) -> Strategy:
    """A strategy by name: st (default of the recipes), darts, snas, proxyless, random."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown search method {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name](net, **kwargs)
