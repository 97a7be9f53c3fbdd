"""LoRA module and parameter counts on the shipped hub architectures, built offline on the meta
device (no weights, no downloads); and the LoRA variants (rsLoRA, DoRA, init, modules_to_save)
reaching peft, on the tiny offline model."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

import loralab
from loralab.config.paths import config_dir
from loralab.modeling import apply_lora, parameter_counts

HUB_ARCHS = ["qwen2.5-1.5b-instruct", "llama-3.1-8b-instruct", "kanana-1.5-8b-instruct-2505"]
LORA_OPTIONS = sorted(p.stem for p in (config_dir() / "lora").glob("*.yaml"))
MODEL_OPTIONS = sorted(p.stem for p in (config_dir() / "model").glob("*.yaml"))


def arch_json(name: str) -> dict:
    return json.loads((resources.files("loralab.models") / "arch" / f"{name}.json").read_text(encoding="utf-8"))


def meta_model(name: str):
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(AutoConfig.for_model(**arch_json(name)))


def lora_cfg(option: str):
    # the option alone: the default experiment's lora.top_layers would adapt only the top layers
    return loralab.compose([f"lora={option}", "lora.top_layers=null"]).lora


def adapted(arch: str, option: str):
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**arch_json(arch)))
        return apply_lora(model, lora_cfg(option))


def lora_module_names(model) -> list[str]:
    return [name for name, _ in model.named_modules() if name.endswith(".lora_A")]


def expected_trainable(arch: str, r: int, targets: set[str]) -> int:
    """r * (in + out) per adapted projection, from the architecture's own geometry."""
    c = arch_json(arch)
    h, inter, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    head_dim = c.get("head_dim", h // c["num_attention_heads"])
    q, kv = c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
              "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    return layers * sum(r * (i + o) for name, (i, o) in shapes.items() if name in targets)


ALL_LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.fixture(scope="module")
def counts() -> dict[tuple[str, str], dict]:
    """parameter_counts + adapted module names for every (architecture, lora option)."""
    out = {}
    for arch in HUB_ARCHS:
        for option in LORA_OPTIONS:
            model = adapted(arch, option)
            out[arch, option] = {**parameter_counts(model), "names": lora_module_names(model)}
    return out


def test_qwen_r8_all_linear(counts):
    c = counts["qwen2.5-1.5b-instruct", "r8-all-linear"]
    assert c["lora_modules"] == len(c["names"]) == 196
    assert c["trainable"] == 9_232_384


def test_qwen_qv_fallback(counts):
    c = counts["qwen2.5-1.5b-instruct", "qv-fallback"]
    assert c["lora_modules"] == 56
    assert {name.split(".")[-2] for name in c["names"]} == {"q_proj", "v_proj"}


@pytest.mark.parametrize("option,modules,names", [
    ("attention-only", 112, {"q_proj", "k_proj", "v_proj", "o_proj"}),
    ("mlp-only", 84, {"gate_proj", "up_proj", "down_proj"}),
])
def test_qwen_partial_targets(counts, option, modules, names):
    c = counts["qwen2.5-1.5b-instruct", option]
    assert c["lora_modules"] == len(c["names"]) == modules
    assert {name.split(".")[-2] for name in c["names"]} == names


def test_attention_and_mlp_only_add_up_to_all_linear(counts):
    for arch in HUB_ARCHS:
        parts = [counts[arch, option] for option in ("attention-only", "mlp-only")]
        whole = counts[arch, "r8-all-linear"]
        assert sum(p["lora_modules"] for p in parts) == whole["lora_modules"]
        assert sum(p["trainable"] for p in parts) == whole["trainable"]


def test_llama_r8_all_linear(counts):
    assert counts["llama-3.1-8b-instruct", "r8-all-linear"]["lora_modules"] == 224


@pytest.mark.parametrize("arch", HUB_ARCHS)
def test_r16_doubles_the_r8_trainable_count(counts, arch):
    r8, r16 = counts[arch, "r8-all-linear"], counts[arch, "r16"]
    assert r16["lora_modules"] == r8["lora_modules"]
    assert r16["trainable"] == 2 * r8["trainable"]


@pytest.mark.parametrize("arch", HUB_ARCHS)
@pytest.mark.parametrize("option", LORA_OPTIONS)
def test_counts_match_the_architecture_geometry(counts, arch, option):
    lora = lora_cfg(option)
    targets = ALL_LINEAR if list(lora.target_modules) == ["all-linear"] else set(lora.target_modules)
    c = counts[arch, option]
    assert c["lora_modules"] == arch_json(arch)["num_hidden_layers"] * len(targets)
    assert c["trainable"] == expected_trainable(arch, lora.r, targets)


@pytest.mark.parametrize("arch", HUB_ARCHS)
@pytest.mark.parametrize("option", LORA_OPTIONS)
def test_lm_head_is_never_adapted(counts, arch, option):
    names = counts[arch, option]["names"]
    assert names and not any("lm_head" in name or "embed_tokens" in name for name in names)


def test_only_lora_parameters_are_trainable():
    model = adapted("qwen2.5-1.5b-instruct", "r8-all-linear")
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert not any("lm_head" in n for n in trainable)


@pytest.mark.parametrize("model_option", MODEL_OPTIONS)
def test_model_linear_modules_match_the_shipped_architecture(model_option):
    """lora.target_modules is validated against model.linear_modules: they must be the real layer names."""
    cfg = loralab.compose([f"model={model_option}"])
    assert cfg.model.arch_config, f"model={model_option} ships no arch_config"
    model = meta_model(cfg.model.arch_config)
    linear = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert linear - {"lm_head"} == set(cfg.model.linear_modules)


# The LoRA variants: the config's fields must arrive in peft's own config and change the adapter.


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from loralab.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-peft"))


def tiny_adapted(tiny_dir, *overrides: str):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    return apply_lora(model, loralab.compose(["lora=r8-all-linear", *overrides]).lora)


def q_proj(model):
    return model.base_model.model.model.layers[0].self_attn.q_proj


def test_defaults_reach_peft_as_plain_lora(tiny_dir):
    model = tiny_adapted(tiny_dir)
    config = model.peft_config["default"]
    assert (config.use_rslora, config.use_dora, config.init_lora_weights) == (False, False, True)
    assert not config.modules_to_save
    assert q_proj(model).scaling["default"] == pytest.approx(16 / 8)  # alpha / r


def test_rslora_reaches_peft_and_scales_by_the_root_of_r(tiny_dir):
    model = tiny_adapted(tiny_dir, "lora.use_rslora=true")
    assert model.peft_config["default"].use_rslora is True
    assert q_proj(model).scaling["default"] == pytest.approx(16 / 8 ** 0.5)  # alpha / sqrt(r)


def test_dora_reaches_peft_and_adds_trainable_magnitudes(tiny_dir):
    model = tiny_adapted(tiny_dir, "lora.use_dora=true")
    assert model.peft_config["default"].use_dora is True
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    magnitudes = [name for name in trainable if "lora_magnitude_vector" in name]
    assert len(magnitudes) == parameter_counts(model)["lora_modules"]
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("setting,expected", [("true", True), ("false", False), ("gaussian", "gaussian")])
def test_init_lora_weights_reaches_peft(tiny_dir, setting, expected):
    model = tiny_adapted(tiny_dir, f"lora.init_lora_weights={setting}")
    assert model.peft_config["default"].init_lora_weights == expected
    lora_b = q_proj(model).lora_B["default"].weight
    # peft's default init starts at the base model (B = 0); "false" leaves B random
    assert bool(lora_b.abs().sum() == 0) is (setting != "false")


def test_modules_to_save_reach_peft_as_trainable_copies(tiny_dir):
    model = tiny_adapted(tiny_dir, "lora.modules_to_save=[lm_head]")
    assert list(model.peft_config["default"].modules_to_save) == ["lm_head"]
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert any("lm_head.modules_to_save" in name for name in trainable)


# lora.top_layers: only the top decoder layers are adapted, so backpropagation stops there.


def test_top_layers_adapts_only_the_top_layers_of_every_projection():
    arch, top = "qwen2.5-1.5b-instruct", 7
    layers = arch_json(arch)["num_hidden_layers"]
    with torch.device("meta"):
        model = apply_lora(meta_model(arch), loralab.compose([f"lora.top_layers={top}"]).lora)
    names = lora_module_names(model)
    assert {int(name.split(".layers.")[1].split(".")[0]) for name in names} == set(range(layers - top, layers))
    assert {name.split(".")[-2] for name in names} == ALL_LINEAR
    assert parameter_counts(model)["trainable"] == expected_trainable(arch, 8, ALL_LINEAR) * top // layers


def test_top_layers_keeps_named_targets_and_the_estimator_counts_them():
    from loralab.memory.geometry import geometry

    arch, top = "llama-3.1-8b-instruct", 4
    lora = loralab.compose(["lora=qv-fallback", f"lora.top_layers={top}"]).lora
    with torch.device("meta"):
        model = apply_lora(meta_model(arch), lora)
    assert len(lora_module_names(model)) == top * 2
    assert geometry(arch, lora).trainable == parameter_counts(model)["trainable"]


def test_top_layers_beyond_the_model_adapts_every_layer(tiny_dir):
    every = lora_module_names(tiny_adapted(tiny_dir, "lora.top_layers=null"))
    assert lora_module_names(tiny_adapted(tiny_dir, "lora.top_layers=999")) == every
    assert len(lora_module_names(tiny_adapted(tiny_dir, "lora.top_layers=1"))) < len(every)


@pytest.mark.parametrize("checkpointing", [False, True], ids=["plain", "gradient-checkpointing"])
def test_top_layers_leaves_the_lower_layers_out_of_the_backward_pass(tiny_dir, checkpointing):
    model = tiny_adapted(tiny_dir, "lora.top_layers=1")
    if checkpointing:  # what TRL and transformers do: the embeddings' output then requires grad
        model.enable_input_require_grads()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
        model.train()
    reached = []
    lowest = model.base_model.model.model.layers[0]
    lowest.register_full_backward_hook(lambda *_: reached.append("layer 0"))
    model(torch.tensor([[1, 2, 3, 4]])).logits.sum().backward()
    assert reached == []
    trained = [p for p in model.parameters() if p.requires_grad]
    assert trained and all(p.grad is not None for p in trained)
    assert any(p.grad.abs().sum() > 0 for p in trained)  # B starts at zero, so A's gradients do too


def test_embedding_rows_trained_below_the_adapted_layers_keep_the_whole_backward_pass(tiny_dir):
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    model = apply_lora(base, loralab.compose(["lora.top_layers=1"]).lora, token_ids=[5])  # an added token's row
    reached = []
    model.base_model.model.model.layers[0].register_full_backward_hook(lambda *_: reached.append("layer 0"))
    model(torch.tensor([[5, 2, 3, 4]])).logits.sum().backward()
    assert reached == ["layer 0"]


def test_the_estimator_counts_every_layers_biases_under_bias_all():
    from loralab.memory.geometry import geometry

    arch, lora = "qwen2.5-1.5b-instruct", loralab.compose(["lora.top_layers=3", "lora.bias=all"]).lora
    with torch.device("meta"):
        peft_model = apply_lora(meta_model(arch), lora)
    assert geometry(arch, lora).trainable == parameter_counts(peft_model)["trainable"]
