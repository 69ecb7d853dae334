"""Stage 5: architecture search. See nas/train/search.py, nas/train/loop.py and the README."""
import sys

from nas.train.cli import stage_main


def main() -> int:
    return stage_main("search")


if __name__ == "__main__":
    sys.exit(main())
