"""Open a finished run directory: its config, and its model for inference (base, base + adapter,
or a merged model). Shared by loralab-eval and loralab-merge."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .rundir import read_status
from .errors import IncompleteRun


def open_run(run_dir: str | Path, force: bool = False) -> tuple[Path, DictConfig]:
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise IncompleteRun(f"{run_dir} is not a loralab run directory (no config.yaml)")
    state = read_status(run_dir).get("state")
    if state != "completed" and not force:
        raise IncompleteRun(f"{run_dir} is not a completed run (status: {state}); its adapter may be partial. "
                            "Pass --force to use it anyway.")
    return run_dir, OmegaConf.load(run_dir / "config.yaml")


def require_adapter(run_dir: Path) -> Path:
    """The run's adapter directory; a run stopped before its first save has none."""
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise IncompleteRun(f"{adapter} is missing (no adapter_config.json): the run saved no adapter. Continue "
                            f"it with `loralab-train resume={run_dir}`, or train it again")
    return adapter


def load_for_inference(cfg: DictConfig, run_dir: Path, kind: str = "adapter", merged_dir: str | None = None,
                       dtype: str | None = None):
    """Return (model, tokenizer, location). kind: "adapter" (base + run's adapter), "base", "merged"."""
    from transformers import AutoModelForCausalLM

    from .hardware import detect, resolve_precision
    from .modeling import DTYPES, build_model, build_tokenizer, model_location, peft_checkpointing_name_quiet

    adapter = require_adapter(run_dir) if kind == "adapter" else None  # before the base model loads
    hw = detect()
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    if kind == "merged":
        location = str(merged_dir or run_dir / "merged")
        model = AutoModelForCausalLM.from_pretrained(location, dtype=DTYPES[dtype] if dtype else precision.torch_dtype)
        if hw.device == "cuda":
            model.to("cuda")
        return model, build_tokenizer(cfg.model, location), location
    location = model_location(cfg.model, cfg.paths.cache_dir)
    model = build_model(cfg.model, location, precision, hw, gradient_checkpointing=False)
    if hw.device == "cuda" and cfg.model.quantization.mode == "none":
        model.to("cuda")
    if kind == "adapter":
        from peft import PeftModel

        with peft_checkpointing_name_quiet():
            model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    return model, build_tokenizer(cfg.model, location), location
