"""What a run prints for a person: the composed config as a tree and the start-of-run summary."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

console = Console(highlight=False)


def _add(tree: Tree, node) -> None:
    # the user's keys and values are text, not rich markup: 'loralab[gpu]' or a prompt's [INST] stay as written
    for key, value in node.items():
        if isinstance(value, dict):
            _add(tree.add(f"[bold]{escape(str(key))}[/bold]"), value)
        else:
            tree.add(f"{escape(str(key))}: [cyan]{escape(repr(value))}[/cyan]")


def print_config_tree(cfg: DictConfig) -> None:
    tree = Tree("[bold]config[/bold]")
    _add(tree, OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    console.print(tree)


def print_summary(title: str, rows: dict) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in rows.items():
        table.add_row(escape(key), f"{value:,}" if isinstance(value, int) else escape(str(value)))
    console.print(table)


def format_duration(seconds: float) -> str:
    """45s, 3m54s, 2h05m."""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
