"""One test per rule of config/validation.py: the ConfigError names the field and the bad value."""

from __future__ import annotations

import pytest
from compose_helpers import refusal
from omegaconf import OmegaConf

import loralab
from loralab.config.validation import validate
from loralab.errors import ConfigError


def problems_of(overrides: list[str]) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        loralab.compose(overrides)
    return err.value


def assert_single_problem(overrides: list[str], field: str, value_repr: str) -> ConfigError:
    err = problems_of(overrides)
    assert [p.field for p in err.problems] == [field], str(err)
    assert f"{field} = {value_repr}:" in str(err)
    return err


def test_default_config_is_valid():
    validate(loralab.compose([], validate=False))


@pytest.mark.parametrize("lr,shown", [("0", "0.0"), ("-1e-4", "-0.0001")])
def test_learning_rate_must_be_positive(lr, shown):
    assert_single_problem([f"optimizer.lr={lr}"], "optimizer.lr", shown)


def test_learning_rate_above_1e_2_is_rejected():
    err = assert_single_problem(["optimizer.lr=0.05"], "optimizer.lr", "0.05")
    assert "1e-2" in str(err)


def test_learning_rate_at_the_upper_bound_is_accepted():
    assert loralab.compose(["optimizer.lr=1e-2"]).optimizer.lr == pytest.approx(1e-2)


@pytest.mark.parametrize("r", [0, 300])
def test_lora_rank_out_of_range(r):
    err = assert_single_problem([f"lora.r={r}"], "lora.r", str(r))
    assert "1..256" in str(err)


def test_negative_warmup_ratio():
    assert_single_problem(["optimizer.warmup_ratio=-0.1"], "optimizer.warmup_ratio", "-0.1")


def test_warmup_ratio_above_half():
    err = assert_single_problem(["optimizer.warmup_ratio=0.6"], "optimizer.warmup_ratio", "0.6")
    assert "[0, 0.5]" in str(err)


def test_loraplus_ratio_below_one():
    err = assert_single_problem(["optimizer.loraplus_lr_ratio=0.5"], "optimizer.loraplus_lr_ratio", "0.5")
    assert ">= 1" in str(err)


def test_micro_batch_size_zero():
    assert_single_problem(["trainer.micro_batch_size=0"], "trainer.micro_batch_size", "0")


def test_gradient_accumulation_zero():
    assert_single_problem(["trainer.gradient_accumulation_steps=0"], "trainer.gradient_accumulation_steps", "0")


def test_unknown_scheduler_lists_the_known_ones():
    # the schema's type refuses it while composing, before validation
    message = refusal(["optimizer.scheduler=cosine_restarts"])
    assert ("Invalid value 'cosine_restarts', expected one of [cosine, linear, constant, constant_with_warmup, "
            "cosine_with_min_lr]") in message
    assert "full_key: optimizer.scheduler" in message


@pytest.mark.parametrize("override,field", [
    ("model.quantization.mode=nf8", "model.quantization.mode"), ("precision.dtype=bf17", "precision.dtype"),
    ("optimizer.optim=sgd", "optimizer.optim"), ("trainer.eval_strategy=sometimes", "trainer.eval_strategy"),
    ("distributed.strategy=horovod", "distributed.strategy"), ("distributed.backend=ucc", "distributed.backend"),
    ("data.tools_in_prompt=all", "data.tools_in_prompt"), ("lora.bias=some", "lora.bias"),
])
def test_every_enumerated_field_refuses_a_value_outside_its_list(override, field):
    message = refusal([override])
    assert f"full_key: {field}" in message and "expected one of [" in message


def test_a_value_of_the_wrong_case_is_refused():
    # the real APIs compare exactly: BF16 is not bf16
    assert "expected one of [auto, fp32, fp16, bf16]" in refusal(["precision.dtype=BF16"])


@pytest.mark.parametrize("field", ["trainer.gradient_checkpointing", "trainer.fused_lm_head", "trainer.oom_fallback",
                                   "env.dataloader_pin_memory"])
def test_auto_switches_take_null_true_or_false(field):
    assert "'auto' is not a valid bool" in refusal([f"{field}=auto"])
    section, name = field.split(".")
    assert loralab.compose([f"{field}=true"])[section][name] is True
    assert loralab.compose([f"{field}=null"])[section][name] is None


def test_a_choice_reads_as_its_plain_text():
    cfg = loralab.compose(["precision.dtype=bf16", "model.tool_call_format=llama-json"])
    assert cfg.precision.dtype == "bf16" and f"{cfg.precision.dtype}" == "bf16"
    assert cfg.model.tool_call_format == "llama-json"
    assert OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)["precision"]["dtype"] == "bf16"
    assert "dtype: bf16" in OmegaConf.to_yaml(cfg)


def test_unknown_target_module_lists_the_models_linear_layers():
    err = assert_single_problem(["lora.target_modules=[q_proj,qkv_proj]"], "lora.target_modules",
                                "['q_proj', 'qkv_proj']")
    message = str(err)
    assert "['qkv_proj'] not in model smollm2-135m's linear layers" in message
    assert "['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']" in message


def test_target_modules_follow_the_models_own_linear_layers():
    # a model whose layer names differ (e.g. a fused qkv projection) accepts its own names only
    cfg = loralab.compose(["model.linear_modules=[qkv_proj,out_proj]", "lora.target_modules=[qkv_proj]"])
    assert list(cfg.lora.target_modules) == ["qkv_proj"]
    assert_single_problem(["model.linear_modules=[qkv_proj,out_proj]", "lora.target_modules=[q_proj]"],
                          "lora.target_modules", "['q_proj']")


def test_pad_token_equal_to_end_of_turn_token():
    err = assert_single_problem(["model.pad_token='<|im_end|>'"], "model.pad_token", "'<|im_end|>'")
    assert "model.end_of_turn_token" in str(err)


def test_load_best_model_needs_evaluation():
    err = assert_single_problem(["trainer.eval_strategy=no"], "trainer.load_best_model_at_end", "True")
    assert "eval_strategy" in str(err)


def test_save_steps_must_be_a_multiple_of_eval_steps():
    # the seeds' setting: evaluate every 200 steps, save every 500 -> the best checkpoint may be lost
    err = assert_single_problem(["trainer.eval_steps=200", "trainer.save_steps=500"], "trainer.save_steps", "500")
    assert "multiple of trainer.eval_steps (200)" in str(err)


def test_save_steps_multiple_of_eval_steps_is_accepted():
    cfg = loralab.compose(["trainer.eval_steps=200", "trainer.save_steps=400"])
    assert cfg.trainer.save_steps == 400


def test_save_strategy_must_match_eval_strategy_for_load_best():
    assert_single_problem(["trainer.eval_strategy=epoch"], "trainer.save_strategy", "'steps'")


def test_early_stopping_without_evaluation():
    err = assert_single_problem(
        ["trainer.early_stopping_patience=3", "trainer.eval_strategy=no", "trainer.load_best_model_at_end=false"],
        "trainer.early_stopping_patience", "3")
    assert "needs evaluation" in str(err)


def test_files_source_without_train_file():
    err = assert_single_problem(["data=files"], "data.train_file", "None")
    assert "data.train_file=<path>" in str(err)


def test_eval_steps_zero_is_a_config_error():
    assert_single_problem(["trainer.eval_steps=0"], "trainer.eval_steps", "0")


def test_all_problems_are_reported_together():
    err = problems_of(["optimizer.lr=0", "lora.r=300", "trainer.micro_batch_size=0",
                       "lora.dropout=1.5", "trainer.eval_steps=200", "trainer.save_steps=500"])
    fields = [p.field for p in err.problems]
    assert sorted(fields) == sorted(["optimizer.lr", "lora.r", "trainer.micro_batch_size",
                                     "lora.dropout", "trainer.save_steps"])
    message = str(err)
    assert message.startswith("invalid config (5 problems):")
    assert len(message.splitlines()) == 1 + 5
    for field in fields:
        assert f"  {field} = " in message


def test_single_problem_message_is_singular():
    assert str(problems_of(["lora.r=0"])).startswith("invalid config (1 problem):")


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_init_lora_weights_is_one_peft_supports_without_extra_config():
    from loralab.api import compose

    for ok in ("true", "gaussian", "pissa_niter_4"):
        compose([f"lora.init_lora_weights={ok}"])
    with pytest.raises(ConfigError, match="lora.init_lora_weights = 'loftq'.*pissa_niter_<n>"):
        compose(["lora.init_lora_weights=loftq"])


def test_tool_call_format_and_added_tokens_with_full_embedding_training_are_refused():
    from loralab.api import compose

    assert "Invalid value 'xml', expected one of [hermes, llama-json]" in refusal(["model.tool_call_format=xml"])
    with pytest.raises(ConfigError, match=r"lora.modules_to_save .*\['lm_head'\] cannot be trained in full"):
        compose(["model.add_special_tokens=['<|tool|>']", "lora.modules_to_save=[lm_head]"])


@pytest.mark.parametrize("field", ["eval.max_examples", "eval.base_max_examples"])
def test_eval_example_caps_below_one_are_refused_with_the_way_to_skip(field):
    # 0 once read as "no cap" and scored every example: a 13-minute evaluation nobody asked for
    err = assert_single_problem([f"{field}=0"], field, "0")
    assert "eval.at_end=false" in str(err)


@pytest.mark.parametrize("field", ["eval.batch_size", "eval.during_training_examples", "eval.max_new_tokens"])
def test_eval_sizes_below_one_are_refused(field):
    assert_single_problem([f"{field}=0"], field, "0")


def test_eval_needs_a_split():
    assert_single_problem(["eval.splits=[]"], "eval.splits", "[]")
