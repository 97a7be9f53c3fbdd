"""loralab.console: what a run prints shows the user's text as written, square brackets included."""

from __future__ import annotations

from omegaconf import OmegaConf

from loralab import console


def test_summary_and_config_tree_print_brackets_as_text(capsys):
    hint = "off (auto: liger-kernel is not installed: pip install 'loralab[gpu]')"
    console.print_summary("run summary", {"Liger kernels": hint, "[note]": "[INST] stays", "steps": 1250})
    console.print_config_tree(OmegaConf.create({"data": {"system_prompt": "[INST] call a tool [/INST]"}}))
    out = capsys.readouterr().out
    assert "loralab[gpu]" in out and "[note]" in out and "[INST] stays" in out and "1,250" in out
    assert "[INST] call a tool [/INST]" in out
