"""Write the labelled stand-in SMPL/MANO model files (smplx format) and the stand-in 14-part map."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.body import standin_dir
from common.body.standin import write_standins


def main() -> None:
    """Parse --out (default: common.body.standin_dir()) and generate the stand-ins there."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: standin_dir())")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = write_standins(args.out if args.out is not None else standin_dir())
    logging.info("stand-in body models (NOT the real SMPL/MANO) written to %s", out)


if __name__ == "__main__":
    main()
