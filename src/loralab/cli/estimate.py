"""``loralab-estimate``: the peak GPU memory of a run, predicted before anything loads.

    loralab-estimate model=qwen-1.5b-nf4 lora=r64 trainer.micro_batch_size=4
    loralab-estimate experiment=rtx3060-qwen-tools --gpu-memory-gb 6     # plan for an RTX 3060 6 GB

Takes the overrides ``loralab-train`` takes and prints each component of the peak (weights by
quantisation, the adapter, its gradients and optimizer states, activations, the loss's logits,
CUDA overhead) in GiB, the total, and whether it fits this GPU's memory, or ``--gpu-memory-gb``
on a machine without one. When it does not fit, it names the cheapest change from the
OOM guide that does (each candidate re-estimated). Counts come from the shipped architecture
config (model.arch_config) by arithmetic alone: nothing loads, nothing downloads. The arithmetic,
and where each constant comes from, is in loralab/memory/.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys


def gib(value: str) -> float:
    """A GPU memory size in GiB: a finite number above 0."""
    try:
        size = float(value)
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a GPU memory size: give a positive number of GiB, "
                                         "e.g. 12 for an RTX 3060 12 GB")
    return size


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-estimate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="Hydra overrides, as for loralab-train (e.g. lora=r64)")
    p.add_argument("--gpu-memory-gb", type=gib, default=None,
                   help="plan for a GPU with this much memory in GiB (default: this machine's GPU)")
    p.add_argument("--check", action="store_true", help="exit with status 1 when the run is predicted not to fit")
    return p.parse_args(argv)


def with_fallback(overrides: list[str], fallback: list[str]) -> list[str]:
    """The user's overrides with the fallback's replacing any of the same key (Hydra rejects a key twice)."""
    def key(override: str) -> str:
        return override.split("=", 1)[0].lstrip("+~")

    replaced = {key(o) for o in fallback}
    return [o for o in overrides if key(o) not in replaced] + fallback


def _table(est, capacity_gb: float | None):
    from rich.markup import escape
    from rich.table import Table

    s = est.setup
    weights = s["quantization"].upper() if s["quantization"] != "none" else s["precision"]
    table = Table(title=f"peak memory: {s['model']} ({weights} weights), LoRA r={s['r']} on {s['lora_modules']} "
                        f"modules, {s['micro_batch_size']} x {s['max_length']} tokens, {s['precision']}, "
                        f"checkpointing {'on' if s['gradient_checkpointing'] else 'off'}, "
                        f"{'fused' if s['fused_lm_head'] else 'plain'} LM head", title_justify="left")
    table.add_column("component")
    table.add_column("GiB", justify="right")
    table.add_column("how", overflow="fold")
    for part in est.parts:
        table.add_row(escape(part.name), f"{part.gb:.3f}", escape(part.note))
    table.add_section()
    table.add_row("[bold]total[/bold]", f"[bold]{est.total_gb:.2f}[/bold]",
                  f"of which PyTorch's allocator (torch.cuda.max_memory_allocated): {est.allocated_gb:.2f}")
    if capacity_gb:
        verdict = "[green]fits[/green]" if est.fits(capacity_gb) else "[red]does not fit[/red]"
        table.add_row("GPU memory", f"{capacity_gb:.2f}", verdict)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hydra.errors import HydraException
    from rich.markup import escape

    from ..api import compose
    from ..errors import ConfigError, Problem
    from ..console import console
    from ..hardware import detect
    from ..memory import estimate, fallback_ladder, suggest_fallback, target_hardware
    from ..memory.micro_batch import resolve_micro_batch

    try:
        cfg = compose(args.overrides)
        here, hw = detect(), target_hardware()
        if args.gpu_memory_gb is not None:  # plan for that card: the auto switches are decided against it
            hw = dataclasses.replace(hw, total_memory_gb=args.gpu_memory_gb)
        capacity = hw.total_memory_gb
        cfg, micro = resolve_micro_batch(cfg, hw)
        est = estimate(cfg, hw)
    except (ConfigError, HydraException) as exc:
        from ..errors import exit_on_user_error

        if isinstance(exc, HydraException):
            exc = ConfigError([Problem("overrides", " ".join(args.overrides), str(exc))])
        with exit_on_user_error():
            raise exc from None
    if micro is not None:
        console.print(f"micro-batch: {micro.size} ({micro.reason})")
    console.print(_table(est, capacity))
    s = est.setup
    console.print(f"activations: {s['activation_bytes_per_token_per_layer']:,} B per token per layer, of which "
                  f"{s['checkpoint_bytes_per_token_per_layer']:,} B (the layer's input) stay with gradient "
                  f"checkpointing while one layer at a time is recomputed; {s['tokens']:,} tokens per micro-batch; "
                  f"Liger's kernels {'on' if s['liger_kernels'] else 'off'} ({escape(s['liger_kernels_why'])}). "
                  f"Planned for {hw.device_name if here.device == 'cuda' else 'a CUDA GPU (there is none here)'}.")
    if capacity is None:
        console.print("no GPU here: add --gpu-memory-gb N to check the fit (e.g. 6 or 12 for an RTX 3060, 24, 40, 80)")
        return 0
    if est.fits(capacity):
        return 0
    console.print(f"[bold yellow]warning:[/bold yellow] the predicted peak, {est.total_gb:.2f} GiB, does not fit in "
                  f"{capacity:.2f} GiB")
    fallback = suggest_fallback(cfg, capacity, hw)
    if fallback is None:
        smallest = min((e.total_gb for _, e in fallback_ladder(cfg, hw)), default=est.total_gb)
        console.print(f"no fallback of the OOM guide fits: the smallest still needs {smallest:.2f} GiB. Use a smaller "
                      "model, a GPU with more memory, or offloading (distributed=zero3-offload).")
    else:
        console.print(f"cheapest fallback that fits ({fallback.estimate.total_gb:.2f} GiB), from the OOM guide:")
        for step in fallback.steps:
            console.print(f"  - {escape(step)}")
        console.print("  loralab-train " + escape(" ".join(with_fallback(args.overrides, fallback.hydra_overrides()))))
    return 1 if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
