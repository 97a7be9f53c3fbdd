"""Where the conf/ tree lives: inside the package when installed from a wheel, at the repository
root in a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "conf"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "conf"
