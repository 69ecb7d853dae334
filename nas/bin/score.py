"""Score architectures with a super-network's weights (no training). See nas/train/score.py."""
import sys

from nas.train.cli import stage_main


def main() -> int:
    return stage_main("score")


if __name__ == "__main__":
    sys.exit(main())
