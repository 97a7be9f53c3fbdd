"""Drop the native libraries a machine will not load from a wheel, so that the wheels carried to a
machine without a package index fit its transfer limit: bitsandbytes' wheel holds one library per
CUDA and ROCm version (43 MB), of which a CUDA 13 torch loads one.

    python bench/trim_wheel.py .whl/bitsandbytes-*.whl cuda130 cuda132

Keeps every file except the ``lib*_<build>.so`` libraries whose build is not named, rewrites the
wheel's RECORD to match, and replaces the wheel in place."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

NATIVE = re.compile(r"lib\w+?_((?:cuda|rocm|xpu)\w+)\.so$")


def trim(wheel: Path, keep: set[str]) -> tuple[int, int]:
    """(bytes before, bytes after)."""
    def dropped(name: str) -> bool:
        m = NATIVE.search(name)
        return bool(m and m.group(1) not in keep)

    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if dropped(info.filename):
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [line for line in data.decode().splitlines() if not dropped(line.split(",")[0])]
                data = ("\n".join(lines) + "\n").encode()
            out.writestr(info, data)
    before = wheel.stat().st_size
    tmp.replace(wheel)
    return before, wheel.stat().st_size


if __name__ == "__main__":
    if len(sys.argv) < 3 or any(build.endswith(".whl") for build in sys.argv[2:]):
        sys.exit(__doc__ + "\n\nOne wheel at a time: the pattern matched several, or named no build to keep.")
    before, after = trim(Path(sys.argv[1]), set(sys.argv[2:]))
    print(f"{sys.argv[1]}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
