"""What a run prints for a person: the composed config as a tree and the start-of-run summary."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

console = Console(highlight=False)


def _add(tree: Tree, node) -> None:
    for key, value in node.items():
        if isinstance(value, dict):
            _add(tree.add(f"[bold]{key}[/bold]"), value)
        else:
            tree.add(f"{key}: [cyan]{value!r}[/cyan]")


def print_config_tree(cfg: DictConfig) -> None:
    tree = Tree("[bold]config[/bold]")
    _add(tree, OmegaConf.to_container(cfg, resolve=True))
    console.print(tree)


def print_summary(title: str, rows: dict) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in rows.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
