"""Publish a completed run's figures as committed results under bench/results/:

* ``<name>.json``: the run's record.json (command, commit, machine, versions, phase times, headline);
* ``<name>_eval.json``: its eval.json, with the record's provenance and the scoring rules, so that
  docs/RESULTS.md shows per-category, per-language and failure breakdowns from it.

Refuses to replace a result that is already there (``--replace`` to do it on purpose). Then run
``make results`` and commit the files with docs/RESULTS.md.

    python bench/publish_run.py experiments/DATE/TIME_NAME make_train_cpu_avx2_limited
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROVENANCE = ("command", "commit", "date", "machine", "versions", "python", "scoring", "conditions")


def published(run_dir: Path, commit: str | None = None, conditions: str | None = None) -> dict[str, dict]:
    """{"": the record, "_eval": the evaluation with the record's provenance} of a completed run.
    ``commit``: the tree's commit, for a run made where git could not tell it (a copy of the tree on
    another machine); ``conditions``: how the run differed from the command it records."""
    missing = [name for name in ("record.json", "eval.json") if not (run_dir / name).is_file()]
    if missing:
        raise SystemExit(f"error: {run_dir} has no {' or '.join(missing)}: publish a run that trained and "
                         "evaluated to the end (record.json is written last)")
    record = json.loads((run_dir / "record.json").read_text(encoding="utf-8"))
    if commit:
        if record.get("commit") and not commit.startswith(record["commit"]) and not record["commit"].startswith(commit):
            raise SystemExit(f"error: {run_dir}/record.json names commit {record['commit']}, not {commit}")
        record["commit"] = record.get("commit") or commit
    if conditions:
        record["conditions"] = conditions
    evaluation = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    config_file = run_dir / "config.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    # the training seed: several seeds' evaluations of one experiment are shown together, with their spread
    return {"": record, "_eval": {"kind": "eval", **{k: record[k] for k in PROVENANCE if k in record},
                                  "experiment": record.get("experiment"), "seed": (config or {}).get("seed"),
                                  **evaluation}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a completed run directory")
    p.add_argument("name", help="the result's file name, without .json (e.g. make_train_cpu_avx2)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--replace", action="store_true", help="replace results of that name already there")
    p.add_argument("--commit", help="the commit of the tree the run was made from, when its record has none")
    p.add_argument("--conditions", help="how the run differed from the command it records (e.g. an offline setup)")
    args = p.parse_args(argv)

    records = published(args.run, args.commit, args.conditions)
    files = {args.out / f"{args.name}{suffix}.json": data for suffix, data in records.items()}
    there = [str(f) for f in files if f.exists()]
    if there and not args.replace:
        raise SystemExit(f"error: {', '.join(there)} already exist: choose another name, or --replace them")
    args.out.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path, file=sys.stdout)


if __name__ == "__main__":
    main()
