"""``loralab-merge RUN [--output DIR]``: the run's adapter folded into its base model (see
loralab.merge for what is written where, and what is refused)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import merge
from ..merge import merge_run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-merge", description=merge.__doc__)
    p.add_argument("run_dir", help="a completed run directory")
    p.add_argument("--output", help="target directory: a new one, or an earlier merge to replace "
                                    "(default: RUN/merged)")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"),
                   help="dtype of the merged weights (default: the run's compute dtype)")
    p.add_argument("--force", action="store_true", help="merge a run that did not complete")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ..console import console
    from ..errors import exit_on_user_error
    from ..runs import open_run

    with exit_on_user_error():
        run_dir, cfg = open_run(args.run_dir, force=args.force)
        output = merge_run(run_dir, cfg, Path(args.output) if args.output else run_dir / "merged", args.dtype)
    console.print(f"merged model written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
