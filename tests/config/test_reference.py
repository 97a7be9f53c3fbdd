"""docs/CONFIG.md is rendered from the schema and conf/: committed, complete and current."""

from __future__ import annotations

import dataclasses

import pytest

from loralab.config import reference, schema
from loralab.config.paths import config_dir

DOC = reference.DEFAULT_OUTPUT


@pytest.fixture(scope="module")
def rendered() -> str:
    return reference.render()


def test_committed_reference_is_current(rendered):
    assert DOC.is_file(), "docs/CONFIG.md is missing: run `make docs`"
    assert DOC.read_text(encoding="utf-8") == rendered, "docs/CONFIG.md is out of date: run `make docs`"


def schema_paths(cls: type = schema.RunConfig, prefix: str = "") -> list[str]:
    """Every dotted field path, walked from the dataclasses themselves (not from reference.py)."""
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(f"{prefix}{f.name}")
        if dataclasses.is_dataclass(default):
            out += schema_paths(type(default), f"{prefix}{f.name}.")
    return out


def test_every_schema_field_appears(rendered):
    missing = [path for path in schema_paths() if f"`{path}`" not in rendered]
    assert not missing, missing


def test_every_field_is_documented_in_the_schema():
    undocumented = reference.fields_without_meaning()
    assert not undocumented, f"add a comment line above these fields in schema.py: {undocumented}"


def test_every_group_option_is_listed(rendered):
    options = sorted((p.parent.name, p.stem) for p in config_dir().glob("*/*.yaml"))
    missing = [f"{group}={option}" for group, option in options if f"- `{option}`" not in rendered]
    assert not missing, missing


def test_defaults_and_types_are_shown(rendered):
    assert "| `trainer.max_steps` | `int` | `-1` | > 0 overrides num_epochs |" in rendered
    assert "| `lora.target_modules` | `list[str]` | `[all-linear]` |" in rendered
    assert "| `model.quantization` | `QuantizationConfig` | see `model.quantization` below |" in rendered
    assert "- `r8-all-linear` *(default)*" in rendered


def test_meanings_come_from_the_comment_lines_above_each_field():
    source = '''
@dataclass
class Example:
    # first line
    # second line
    documented: int = 1
    bare: str = "x"

    # after a blank line
    spaced: bool = True
    trailing: int = 2  # inline note
'''
    meanings = reference.field_meanings(source)
    assert meanings["Example", "documented"] == "first line second line"
    assert meanings["Example", "bare"] == ""
    assert meanings["Example", "spaced"] == "after a blank line"
    assert meanings["Example", "trailing"] == "inline note"
    assert reference.annotation_texts(source)["Example", "documented"] == "int"


def test_pipes_in_meanings_are_escaped_for_markdown(rendered):
    row = next(line for line in rendered.splitlines() if line.startswith("| `lora.init_lora_weights`"))
    assert row.count(" | ") == 3 and '\\| "gaussian"' in row


def test_an_enumerated_field_lists_its_allowed_values_as_its_type(rendered):
    rows = {line.split(" | ")[0]: line for line in rendered.splitlines() if line.startswith("| `")}
    assert "| `none \\| nf4 \\| fp4 \\| int8` |" in rows["| `model.quantization.mode`"]
    assert "| `nccl \\| gloo \\| mpi \\| ccl \\| null` |" in rows["| `distributed.backend`"]
    assert "| `Optional[bool]` | `null` |" in rows["| `trainer.gradient_checkpointing`"]


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "CONFIG.md"
    stale.write_text("old\n", encoding="utf-8")
    assert reference.main(["--check", "--output", str(stale)]) == 1
    assert "make docs" in capsys.readouterr().err
    assert reference.main(["--output", str(stale)]) == 0
    assert reference.main(["--check", "--output", str(stale)]) == 0
