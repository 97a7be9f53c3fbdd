"""``loralab-merge``: fold a run's LoRA adapter into its base model and save a standalone model
(safetensors + tokenizer + chat template) that ``from_pretrained`` loads without loralab.

A 4-bit base cannot absorb the adapter exactly: the base is reloaded unquantised in the compute
dtype, the adapter merged into it, and the result saved in that dtype."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-merge", description=__doc__)
    p.add_argument("run_dir", help="a completed run directory")
    p.add_argument("--output", help="target directory (default: RUN/merged)")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"),
                   help="dtype of the merged weights (default: the run's compute dtype)")
    p.add_argument("--force", action="store_true", help="merge a run that did not complete")
    return p.parse_args(argv)


def merge_run(run_dir: Path, cfg, output: Path, dtype: str | None = None) -> Path:
    from omegaconf import OmegaConf
    from peft import PeftModel

    from .hardware import detect, resolve_precision
    from .modeling import DTYPES, build_model, build_tokenizer, model_location

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
    merged = PeftModel.from_pretrained(base, run_dir / "adapter").merge_and_unload()
    merged.config.use_cache = True
    tokenizer = build_tokenizer(cfg.model, location)

    tmp = output.with_name(f".{output.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)  # includes the chat template (chat_template.jinja)
    if output.exists():
        shutil.rmtree(output)
    os.replace(tmp, output)
    return output


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .console import console
    from .errors import exit_on_user_error
    from .runs import open_run

    with exit_on_user_error():
        run_dir, cfg = open_run(args.run_dir, force=args.force)
        output = merge_run(run_dir, cfg, Path(args.output) if args.output else run_dir / "merged", args.dtype)
    console.print(f"merged model written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
