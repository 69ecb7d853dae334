"""Stage 7: retrain a derived (or hand-written) architecture from arch.json. See nas/train/retrain.py, nas/train/loop.py and the README."""
import sys

from nas.train.cli import stage_main


def main() -> int:
    return stage_main("retrain")


if __name__ == "__main__":
    sys.exit(main())
