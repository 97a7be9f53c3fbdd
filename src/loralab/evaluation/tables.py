"""Console tables for evaluation results: the before/after (base vs fine-tuned) view."""

from __future__ import annotations

from rich import box
from rich.table import Table

from ..console import console
from .stats import NOISE_SCOPE, TEST_NAMES, TEST_RULE


def _pct(rate: dict | None) -> str:
    if not rate or rate.get("value") is None:
        return "n/a"
    lo, hi = rate["ci95"]
    return f"{100 * rate['value']:.1f}% [{100 * lo:.0f}-{100 * hi:.0f}]"


def print_eval_tables(payload: dict) -> None:
    """Per split: each rate of the fine-tuned model, and, with a base model, both on the examples
    the base answered, with whether the paired difference exceeds the noise."""
    for split, entry in payload["splits"].items():
        tuned = entry["fine_tuned"]["report"]["rates"]
        base = (entry.get("base") or {}).get("report", {}).get("rates")
        paired = (entry.get("fine_tuned_on_base_examples") or {}).get("report", {}).get("rates")
        table = Table(title=f"tool-call evaluation, {split} split (95 % Wilson intervals)", title_justify="left")
        table.add_column("metric", no_wrap=True)
        if base is not None:
            n_base = entry["base"]["report"]["n"]
            table.add_column(f"base model (n={n_base})", justify="right")
            table.add_column(f"fine-tuned (n={n_base})" if paired else f"fine-tuned (n={entry['n']})", justify="right")
            table.add_column("difference beyond noise?", justify="center")
            if paired:
                table.add_column(f"fine-tuned, all (n={entry['n']})", justify="right")
        else:
            table.add_column(f"{payload.get('label') or 'fine-tuned'} (n={entry['n']})", justify="right")
        significant = {row["metric"]: row["significant"] for row in entry.get("comparison") or []}
        for metric, rate in tuned.items():
            row = [metric]
            if base is not None:
                after = (paired or tuned).get(metric)
                row += [_pct(base.get(metric)), _pct(after)]
                both = (after or {}).get("value") is not None and (base.get(metric) or {}).get("value") is not None
                row.append({True: "yes", False: "no"}.get(significant.get(metric)) if both else "")
                if paired:
                    row.append(_pct(rate))
            else:
                row.append(_pct(rate))
            table.add_row(*row)
        console.print(table)
        speed = entry["fine_tuned"].get("throughput")
        if speed:
            console.print(f"generation: {speed['examples']} examples in {speed['seconds']} s "
                          f"({speed['examples_per_s']} examples/s, batch {speed['batch_size']})")


def print_comparison(rows: list[dict], title: str) -> None:
    """Run-vs-run: each headline metric, both values, and whether the gap exceeds the noise."""
    # no vertical rules and one-word test names: the table fits an 80-column terminal
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0),
                  caption=f"test: {TEST_RULE}; {NOISE_SCOPE}", caption_justify="left")
    for name in ("metric", "before", "after", "delta", "p-value", "test"):
        table.add_column(name, no_wrap=True)
    table.add_column("beyond noise?", max_width=7)
    for row in rows:
        if row["before"] is None or row["after"] is None:
            continue
        table.add_row(row["metric"], f"{100 * row['before']:.1f}%", f"{100 * row['after']:.1f}%",
                      f"{100 * row['delta']:+.1f}", f"{row['p_value']:.3g}" if row["p_value"] is not None else "n/a",
                      TEST_NAMES[row["test"]].split()[0], "yes" if row["significant"] else "no")
    console.print(table)
