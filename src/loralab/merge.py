"""``loralab-merge``: fold a run's LoRA adapter into its base model and save a standalone model
(safetensors + tokenizer + chat template) that ``from_pretrained`` loads without loralab.

A 4-bit base cannot absorb the adapter exactly: the base is reloaded unquantised in the compute
dtype, the adapter merged into it, and the result saved in that dtype.

The output is written to a new directory, or replaces one that holds an earlier merge (it carries
loralab-merge.json); anything else is refused before a model loads. The merge is written beside the
output and renamed into place, so a merge that fails leaves the earlier one intact."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from .runs import require_adapter
from .errors import UnsafeOutput

MARKER = "loralab-merge.json"


def check_output(run_dir: Path, output: Path) -> Path:
    """The resolved output directory, if merging into it destroys nothing but an earlier merge."""
    run, out = run_dir.resolve(), output.resolve()
    fix = f"choose another --output (the default is {run_dir / 'merged'})"
    if out == run or run.is_relative_to(out):
        raise UnsafeOutput(f"--output {output} {'is' if out == run else 'contains'} the run directory {run_dir}: "
                           f"merging there would replace its adapter, config and checkpoints; {fix}")
    for part in ("adapter", "checkpoints"):
        if out.is_relative_to(run / part):
            raise UnsafeOutput(f"--output {output} is inside the run's {part}/ ({run_dir / part}); {fix}")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise UnsafeOutput(f"--output {output} is an existing file, not a directory: {fix}, "
                               "or remove it yourself")
        try:
            non_empty = any(out.iterdir())
        except OSError as exc:
            raise UnsafeOutput(f"--output {output} cannot be read ({exc.strerror}): {fix}") from None
        if non_empty and not (out / MARKER).is_file():
            raise UnsafeOutput(f"--output {output} is a non-empty directory that holds no earlier merge "
                               f"(no {MARKER}), and loralab-merge replaces only its own output: {fix}, "
                               "or remove it yourself")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UnsafeOutput(f"--output {output}: {parent} is a file, not a directory; {fix}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UnsafeOutput(f"--output {output}: {parent} is not writable; {fix}")
    return out


def _swap_in(new: Path, out: Path) -> None:
    """Move the complete merge ``new`` to ``out``. An earlier merge there is renamed aside first and
    deleted last: at every moment one complete merge exists."""
    if not out.exists():
        os.rename(new, out)  # fails, touching nothing, if a non-empty directory or a file appeared there
        return
    backup = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out, backup)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def write_merge(run_dir: Path, output: Path, save, record: dict) -> Path:
    """Call ``save(directory)`` on a temporary sibling of ``output``, add the marker, rename it into place."""
    out = check_output(run_dir, output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a merged model is meant to be shared
        save(tmp)
        (tmp / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        check_output(run_dir, output)  # again: the output may have changed while the model saved
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def merge_run(run_dir: Path, cfg, output: Path, dtype: str | None = None) -> Path:
    check_output(run_dir, output)  # fail before a model loads
    adapter = require_adapter(run_dir)

    from importlib.metadata import version

    from omegaconf import OmegaConf
    from peft import PeftModel

    from .hardware import detect, resolve_precision
    from .modeling import DTYPES, build_model, build_tokenizer, model_location, peft_checkpointing_name_quiet
    from .rundir import now

    hw = detect()
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    quant = cfg.model.quantization
    if dtype is None and quant.mode != "none" and quant.compute_dtype != "auto":
        dtype = quant.compute_dtype
    if dtype is not None:
        precision = type(precision)(precision.name, DTYPES[dtype], precision.fp16, precision.bf16, precision.tf32,
                                    f"merge dtype {dtype}")
    unquantised = OmegaConf.merge(cfg.model, {"quantization": {"mode": "none"}})
    location = model_location(cfg.model, cfg.paths.cache_dir)
    base = build_model(unquantised, location, precision, hw, gradient_checkpointing=False)
    with peft_checkpointing_name_quiet():
        merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    merged.config.use_cache = True
    tokenizer = build_tokenizer(cfg.model, location)

    def save(directory: Path) -> None:
        merged.save_pretrained(directory)
        tokenizer.save_pretrained(directory)  # includes the chat template (chat_template.jinja)

    record = {"run": str(run_dir.resolve()), "base_model": str(location),
              "dtype": str(precision.torch_dtype).removeprefix("torch."), "created": now(), "loralab": version("loralab")}
    return write_merge(run_dir, output, save, record)
