"""Render docs/CONFIG.md, the configuration reference, from the typed schema and the conf/ tree.

Every field of every schema dataclass is listed with its dotted path (what a CLI override
names), type, default and meaning; the meaning is the comment block directly above the field in
schema.py, read from the source with ``tokenize`` so the schema stays the single place to document
a field. Each config group lists its options (conf/<group>/*.yaml) with the comment at the top
of the file.

    python -m loralab.config.reference            # writes docs/CONFIG.md (`make docs`)
    python -m loralab.config.reference --check    # exits 1 when docs/CONFIG.md is out of date
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import io
import sys
import tokenize
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

from omegaconf import OmegaConf

from . import schema
from .paths import config_dir

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO / "docs" / "CONFIG.md"
SCHEMA_PATH = "src/loralab/config/schema.py"


@dataclasses.dataclass(frozen=True)
class FieldDoc:
    path: str  # dotted, as a CLI override names it: trainer.max_steps
    type: str
    default: Any
    meaning: str
    node: type | None  # the nested dataclass, when the field is one


def field_meanings(source: str) -> dict[tuple[str, str], str]:
    """(class name, field name) -> the comment lines directly above the field, plus any comment
    trailing it on its own line, joined into one paragraph."""
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    lines = source.splitlines()
    meanings = {}
    for cls in ast.parse(source).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            above, n = [], stmt.lineno - 1
            while n in comments and lines[n - 1].lstrip().startswith("#"):
                above.insert(0, comments[n])
                n -= 1
            trailing = [comments[k] for k in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
                        if k in comments and not lines[k - 1].lstrip().startswith("#")]
            meanings[cls.name, stmt.target.id] = " ".join(above + trailing)
    return meanings


def annotation_texts(source: str) -> dict[tuple[str, str], str]:
    """(class name, field name) -> the annotation as written (``Optional[int]``, ``list[str]``)."""
    return {(cls.name, stmt.target.id): ast.unparse(stmt.annotation)
            for cls in ast.parse(source).body if isinstance(cls, ast.ClassDef)
            for stmt in cls.body if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)}


def schema_source() -> str:
    return Path(schema.__file__).read_text(encoding="utf-8")


def choices_text(hint: Any) -> str | None:
    """``none | nf4 | fp4 | int8`` for a field typed with one of choices.py's enumerations (``| null``
    when it is Optional); None for any other type."""
    args = typing.get_args(hint)
    enum = next((a for a in (hint, *args) if isinstance(a, type) and issubclass(a, Enum)), None)
    if enum is None:
        return None
    text = " | ".join(member.value for member in enum)
    return f"{text} | null" if type(None) in args else text


def fields_of(cls: type, prefix: str, source: str) -> list[FieldDoc]:
    meanings, types = field_meanings(source), annotation_texts(source)
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        node = type(default) if dataclasses.is_dataclass(default) else None
        written = choices_text(hints[f.name]) or types.get((cls.__name__, f.name), str(f.type))
        out.append(FieldDoc(f"{prefix}{f.name}", written, default, meanings.get((cls.__name__, f.name), ""), node))
    return out


def all_fields(source: str | None = None) -> list[FieldDoc]:
    """Every field of the run config, depth first, nested nodes included."""
    source = source or schema_source()

    def walk(cls: type, prefix: str) -> Iterator[FieldDoc]:
        for f in fields_of(cls, prefix, source):
            yield f
            if f.node is not None:
                yield from walk(f.node, f"{f.path}.")

    return list(walk(schema.RunConfig, ""))


def fields_without_meaning(source: str | None = None) -> list[str]:
    """Fields with no comment in the schema (nested nodes are documented by their own section)."""
    return [f.path for f in all_fields(source) if not f.meaning and f.node is None]


# conf/ groups


def default_options(conf: Path) -> dict[str, str | None]:
    """group -> the option train.yaml's defaults list chooses (None for an optional empty slot)."""
    chosen = {}
    for entry in OmegaConf.to_container(OmegaConf.load(conf / "train.yaml")).get("defaults", []):
        if isinstance(entry, dict):
            for key, value in entry.items():
                chosen[key.split()[-1]] = value
    return chosen


def file_comment(path: Path) -> str:
    """The comment block at the top of a YAML file, Hydra's ``@package`` header left out; indented
    comment lines (example commands) become inline code."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        body = line[1:]
        text = body.strip()
        if not text or text.startswith("@package"):
            continue
        out.append(f"`{text}`" if body.startswith("   ") else text)
    return " ".join(out)


def option_summary(path: Path) -> str:
    """What an uncommented option sets: its top-level scalar values."""
    data = OmegaConf.to_container(OmegaConf.load(path), resolve=False) or {}
    parts = [f"{k}={_yaml(v)}" for k, v in data.items() if k not in ("name", "defaults") and not isinstance(v, dict)]
    return "sets " + ", ".join(parts) if parts else ""


def group_options(conf: Path, group: str) -> list[tuple[str, str]]:
    return [(p.stem, file_comment(p) or option_summary(p)) for p in sorted((conf / group).glob("*.yaml"))]


# rendering


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v).strip('"') for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(fields: list[FieldDoc]) -> list[str]:
    rows = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for f in fields:
        default = f"see `{f.path}` below" if f.node is not None else f"`{_cell(_yaml(f.default))}`"
        rows.append(f"| `{f.path}` | `{_cell(f.type)}` | {default} | {_cell(f.meaning)} |")
    return rows


def _options(conf: Path, group: str, default: str | None) -> list[str]:
    lines = [f"Options (`conf/{group}/`; choose one with `loralab-train {group}=<option>`):", ""]
    for option, text in group_options(conf, group):
        mark = " *(default)*" if option == default else ""
        lines.append(f"- `{option}`{mark}" + (f": {text}" if text else ""))
    return lines + [""]


def _node_section(cls: type, path: str, level: int, source: str, conf: Path,
                  defaults: dict[str, str | None]) -> list[str]:
    fields = fields_of(cls, f"{path}.", source)
    lines = [f"{'#' * level} `{path}` ({cls.__name__})", ""]
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
        lines += [" ".join(cls.__doc__.split()), ""]
    if level == 2 and (conf / path).is_dir():
        lines += _options(conf, path, defaults.get(path))
    lines += _table(fields) + [""]
    for f in fields:
        if f.node is not None:
            lines += _node_section(f.node, f.path, level + 1, source, conf, defaults)
    return lines


def _task_sections(conf: Path, defaults: dict[str, str | None]) -> list[str]:
    """The fields each registered task adds under ``data`` (its settings schema), documented from
    the comments in the task's own module."""
    import inspect

    from ..data import sources

    core = {f.name for f in dataclasses.fields(schema.DataConfig)}
    lines = []
    for task, node in sources.task_schemas().items():
        task_source = inspect.getsource(sys.modules[node.__module__])
        added = [f for f in fields_of(node, "data.", task_source) if f.path.removeprefix("data.") not in core]
        lines += [f"### The `{task}` task's settings ({node.__module__})", "",
                  f"Part of `data` when a data option of the task is chosen (`data.source={task}`).", ""]
        lines += _table(added) + [""]
        for f in added:
            if f.node is not None:
                lines += _node_section(f.node, f.path, 4, task_source, conf, defaults)
    return lines


def render(conf: Path | None = None, source: str | None = None) -> str:
    conf, source = conf or config_dir(), source or schema_source()
    defaults = default_options(conf)
    top = fields_of(schema.RunConfig, "", source)
    nodes = [f for f in top if f.node is not None]
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by `python -m loralab.config.reference` (`make docs`) from {SCHEMA_PATH} and conf/."
        " Do not edit: document a field with the comment above it in the schema. -->",
        "",
        "A run's config is `conf/train.yaml` composed by Hydra: one option per config group, then the",
        "experiment preset, then command-line overrides. Choose an option with `group=option`",
        "(`loralab-train lora=r16`), set a field by its dotted path (`loralab-train trainer.max_steps=20`),",
        "and print the composed config without running with `loralab-train --cfg job`. Every field is",
        "typed: a misspelled key or a wrong type fails at compose time, and `config/validation.py`",
        "checks values before any model loads.",
        "",
        "Sections: " + ", ".join(f"`{f.path}`" for f in nodes) + "; top-level fields; groups without a schema node.",
        "",
    ]
    for f in nodes:
        lines += _node_section(f.node, f.path, 2, source, conf, defaults)
        if f.path == "data":
            lines += _task_sections(conf, defaults)
    lines += ["## Top-level fields", ""] + _table([f for f in top if f.node is None]) + [""]
    other = [g for g in defaults if (conf / g).is_dir() and g not in {f.path for f in nodes}]
    other += sorted(p.name for p in conf.iterdir() if p.is_dir() and p.name not in other
                    and p.name not in {f.path for f in nodes})
    if other:
        lines += ["## Groups without a schema node", "",
                  "These options set values across the other sections (`experiment`, `hparams_search`) or",
                  "configure Hydra itself (`hydra`).", ""]
        for group in other:
            lines += [f"### `{group}`", ""] + _options(conf, group, defaults.get(group))
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loralab.config.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: docs/CONFIG.md")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from the rendered text")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date: run `make docs`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
