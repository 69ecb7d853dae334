#!/usr/bin/env python3
"""Usage: utils/compute_wer.py [--ignore-words "W ..."] [--costs levenshtein|sclite] [--details FILE] REF HYP

Kaldi text files in, `%WER ...`, `%SER ...` and `Scored N sentences, M not present in hyp.` out.
The work is done by the `nas` package (nas.bin.compute_wer): run this with the
repository's environment (recipes' path.sh puts .venv/bin first on PATH).
"""
import sys

try:
    from nas.bin.compute_wer import main
except ImportError:
    sys.exit("compute_wer.py: the 'nas' package is not importable by " + sys.executable
             + "; use the repository's .venv/bin/python (source a recipe's path.sh)")

if __name__ == "__main__":
    sys.exit(main())
