"""The package's shape: console scripts live in loralab/cli/ and never shadow the Python API, and
the import layering in .importlinter holds (no cycles; cli over api over recipe over the library)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import loralab

ROOT = Path(__file__).resolve().parents[1]


def test_importing_every_console_script_leaves_the_python_api_callable():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts and all(target.startswith("loralab.cli.") and target.endswith(":main")
                           for target in scripts.values()), scripts
    for target in scripts.values():
        module = importlib.import_module(target.split(":")[0])
        assert callable(module.main)
    # a submodule named like an API function would replace it on the package once imported
    assert callable(loralab.train) and loralab.train.__module__ == "loralab"
    assert callable(loralab.compose) and loralab.compose.__module__ == "loralab"


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken" in done.stdout
