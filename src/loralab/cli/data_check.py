"""``loralab-data-check [overrides]``: what training would see, checked before any training (see
loralab.data.check)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data import check
from ..data.check import check_data, print_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-data-check", description=check.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="config overrides, exactly as for loralab-train")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hydra.errors import HydraException

    from ..api import compose
    from ..modeling import tokenizer_for
    from ..errors import exit_on_user_error

    with exit_on_user_error():  # a config mistake or an unreadable tools file: message and exit 2
        try:
            cfg = compose(args.overrides)
        except HydraException as exc:  # a malformed override or an unknown key
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = check_data(cfg, tokenizer_for(cfg))
    print_report(report, cfg)
    if args.json:
        from ..rundir import write_json

        write_json(Path(args.json), report.to_dict())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
