"""Stage 4: NAS warm-up of the super-network. See nas/train/warmup.py, nas/train/loop.py and the README."""
import sys

from nas.train.cli import stage_main


def main() -> int:
    return stage_main("warmup")


if __name__ == "__main__":
    sys.exit(main())
