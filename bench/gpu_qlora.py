"""GPU measurement for QLoRA on hub-shaped models built from the shipped config.json (random
weights, no hub): step time, tokens/s, peak memory and MFU against the card's measured bf16
matmul rate. Writes JSON to the path given as argv[1]. Needs torch, transformers, peft and
bitsandbytes; run on a CUDA machine (see bench/README.md)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import AutoConfig, AutoModelForCausalLM, BitsAndBytesConfig

ARCH = Path(__file__).resolve().parent.parent / "src" / "loralab" / "models" / "arch"


def matmul_tflops(n: int = 8192, reps: int = 10) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def build_quantised(arch: str, workdir: Path):
    config = AutoConfig.for_model(**json.loads((ARCH / f"{arch}.json").read_text()))
    path = workdir / arch
    if not path.exists():
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(path)
        del model
        torch.cuda.empty_cache()
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
    return AutoModelForCausalLM.from_pretrained(path, quantization_config=quant, dtype=torch.bfloat16,
                                                device_map={"": 0}, attn_implementation="sdpa")


def lora_train_flops_per_token(model) -> float:
    """Frozen base: forward 2N + backward activation-gradients 2N (no weight gradients); LoRA
    adapters: 6 per trainable parameter. Attention score FLOPs are left out (short sequences)."""
    base = sum(p.numel() * (2 if p.dtype == torch.uint8 else 1) for n, p in model.named_parameters()
               if not p.requires_grad and "embed_tokens" not in n)
    lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 4 * base + 6 * lora


def measure(arch: str, r: int, workdir: Path, batch: int, seq: int, steps: int, peak_tflops: float) -> dict:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = build_quantised(arch, workdir)
    weights_gb = torch.cuda.memory_allocated() / 2**30
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True,
                                            gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.05, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
    import bitsandbytes as bnb

    opt = bnb.optim.PagedAdamW8bit([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq), device="cuda")
    times = []
    for i in range(steps + 2):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t)
    step = sorted(times)[len(times) // 2]
    tokens = batch * seq
    flops = lora_train_flops_per_token(model) * tokens
    result = {"arch": arch, "r": r, "batch": batch, "seq": seq, "median_step_s": round(step, 4),
              "tokens_per_s": round(tokens / step, 1), "weights_gb_after_load": round(weights_gb, 3),
              "peak_allocated_gb": round(torch.cuda.max_memory_allocated() / 2**30, 3),
              "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
              "mfu": round(flops / step / (peak_tflops * 1e12), 4)}
    del model, opt
    torch.cuda.empty_cache()
    return result


def main() -> None:
    out = Path(sys.argv[1])
    peak = matmul_tflops()
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "measured_bf16_matmul_tflops": round(peak, 1), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for arch, batch, seq in (("qwen2.5-1.5b-instruct", 4, 512), ("llama-3.1-8b-instruct", 2, 512)):
            for r in (8, 64):
                results["runs"].append(measure(arch, r, Path(tmp), batch, seq, steps=5, peak_tflops=peak))
                print(json.dumps(results["runs"][-1]), flush=True)
                out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
