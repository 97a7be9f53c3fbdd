"""Where a bench result came from, recorded at its top: the command that made it, the commit, the
date, the machine and the library versions (docs/RESULTS.md shows them beside every figure)."""

from __future__ import annotations

import argparse
import platform
import time


def provenance(kind: str, script: str, args: argparse.Namespace, leave_out: tuple[str, ...] = ("out",)) -> dict:
    """The header of a result of ``kind`` made by ``bench/<script>`` with the parsed ``args`` (all
    but ``leave_out``, which do not change what is measured)."""
    from loralab.run_record import machine
    from loralab.rundir import git_sha, package_versions

    options = " ".join(f"--{k.replace('_', '-')} {','.join(v) if isinstance(v, list) else v}"
                       for k, v in vars(args).items() if v is not None and k not in leave_out)
    return {"kind": kind, "command": f"python bench/{script} {options}".rstrip(), "commit": git_sha(),
            "date": time.strftime("%Y-%m-%d"), "machine": machine(),
            "versions": {**package_versions(), "python": platform.python_version()}}
