"""The docs a newcomer reads: docs/RESULTS.md is what bench/render_results.py renders from the
committed results, the README stays a guide (short, no figure that no committed result backs), and
every `loralab-train` command it shows still composes.

Which README / docs/SWEEPS.md commands are run (`commands()`): each ```bash block line (with its
backslash continuations) that starts with `loralab-train`, except those that need what a test
machine lacks:
  - a cluster, a database or a launcher: `hydra/launcher=...`, `postgresql://`;
  - a hub model: `model=X` where conf/model/X.yaml says `source: hub`, or `experiment=X` where
    the preset overrides the model with such a one (the GPU presets);
  - a placeholder for the reader to fill in: a word in angle brackets (`resume=<run dir>`) or in
    capitals (`RUN_DIR`).
Each runs as `loralab-train <args> --cfg job` (composition only, nothing trains; a command that
already has --cfg or --help runs as written), after dropping `-m` and reducing every sweep value
(`a,b`, `choice(..)`, `range(..)`, `interval(..)`) to its first point, since `--cfg` composes one job.
The same arguments are also composed in-process through loralab.compose, which validates them.
`torchrun` / `accelerate` / `make` lines are not `loralab-train` lines and are never run here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDES = (README, ROOT / "docs" / "SWEEPS.md", ROOT / "docs" / "SCALING.md")
RESULTS_MD = ROOT / "docs" / "RESULTS.md"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_results = _bench_module("render_results")


# --------------------------------------------------------------------------- docs/RESULTS.md

def test_results_md_is_what_the_committed_results_render():
    assert RESULTS_MD.is_file(), "docs/RESULTS.md is missing: run `make results`"
    assert RESULTS_MD.read_text(encoding="utf-8") == render_results.render(), (
        "docs/RESULTS.md is out of date with bench/results/*.json: run `make results` and commit it")


MAKE_TRAIN = {
    "kind": "make_train", "command": "make train", "commit": "0123abcd" * 5, "date": "2026-12-03T10:00:00+00:00",
    "machine": {"cpu": "Intel(R) Xeon(R) Platinum 8488C", "cores": 2, "avx512_bf16": True, "gpu": None},
    "versions": {"torch": "2.13.0", "transformers": "5.23.0", "trl": "1.16.0"},
    "phases_s": {"setup": 95.2, "model": 20.1, "data": 4.0, "training": 361.7, "evaluation": 64.0, "total": 545.0},
    "train_tokens_per_s": 471.26, "steps": 1180,
    "metrics": {"split": "test", "n": 64, "exact_call_accuracy": 0.546875, "exact_call_accuracy_base": 0.03125,
                "tool_name_accuracy": 0.75, "tool_name_accuracy_base": 0.1},
    "scoring": "strict",
}


def _eval_report(exact: float, **extra) -> dict:
    rates = {"exact_call_accuracy": {"value": exact, "k": int(exact * 100), "n": 100}}
    return {"primary": "test", "splits": {"test": {"n": 100, "fine_tuned": {"report": {"rates": rates}}}}, **extra}


def _write(directory: Path, name: str, data: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(data), encoding="utf-8")


def test_renderer_shows_make_train_runs_and_files_without_provenance(tmp_path):
    results = tmp_path / "bench" / "results"
    _write(results, "make_train_cpu.json", MAKE_TRAIN)
    gpu = {**MAKE_TRAIN, "machine": {"cpu": "AMD EPYC 9654", "cores": 16, "avx512_bf16": True,
                                     "gpu": "NVIDIA H200"},
           "phases_s": {"total": 95.0, "training": 40.0}, "train_tokens_per_s": 9000.0}
    _write(results, "make_train_gpu.json", gpu)
    limited = {**MAKE_TRAIN, "machine": {**MAKE_TRAIN["machine"], "torch_cpu_capability": "AVX2",
                                         "isa_limits": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}}
    _write(results, "make_train_limited.json", limited)
    _write(results / "sub", "speed.json", {"tokens_per_s": 12.5, "note": "a text", "inner": {"peak_gib": 3.25}})
    _write(results, "old_eval.json", _eval_report(0.9))                        # lenient: no "scoring"
    _write(results, "old_metrics.json", {"summary": {"global_step": 10}, "train": [], "eval": [], "final": {}})
    _write(results, "new_eval.json", _eval_report(0.5, scoring="strict"))
    text = render_results.render(results, tmp_path)

    current, superseded = text.split("## Superseded: scored under the earlier lenient rules")
    # one table row per make train file: machine, wall time, training time, tokens/s, steps, exact tuned / base
    row = next(line for line in current.splitlines() if line.startswith("| `bench/results/make_train_cpu.json`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:] == ["CPU, 2 cores, AVX512-BF16", "9m05s", "6m02s", "471.3", "1180", "54.7 % / 3.1 %"]
    gpu_row = next(line for line in current.splitlines() if line.startswith("| `bench/results/make_train_gpu.json`"))
    assert "| NVIDIA H200 | 1m35s | 40 s | 9000.0 |" in gpu_row
    # a CPU whose torch was limited to AVX2 is shown as the AVX2 machine it stood for, and says so
    limited_row = next(line for line in current.splitlines()
                       if line.startswith("| `bench/results/make_train_limited.json`"))
    assert "| CPU, 2 cores, AVX2 (AVX512-BF16 CPU limited) |" in limited_row
    assert ("AVX512-BF16 yes; GPU none; torch limited to AVX2 (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2)"
            in current.split("### `bench/results/make_train_limited.json`")[1])
    # its provenance
    assert "- command: `make train`" in current and f"- commit: `{'0123abcd' * 5}`" in current
    assert "- date: 2026-12-03T10:00:00+00:00" in current
    assert ("- machine: CPU Intel(R) Xeon(R) Platinum 8488C; cores 2; AVX512-BF16 yes; GPU none" in current)
    assert "- versions: torch 2.13.0, transformers 5.23.0, trl 1.16.0" in current
    # a file of an unknown kind, with no provenance at all: every field says so, its numbers are shown
    unknown = current.split("### `bench/results/sub/speed.json`")[1]
    for field in ("command", "commit", "date", "versions"):
        assert f"- {field}: not recorded" in unknown
    assert "- machine: CPU not recorded; cores not recorded; AVX512-BF16 not recorded; GPU not recorded" in unknown
    assert "tokens_per_s 12.5" in unknown and "inner.peak_gib 3.25" in unknown and "a text" not in unknown
    # strict results stay current; lenient tool-call scores and their run's metrics are set apart, with why
    assert "`bench/results/new_eval.json`" in current and "`bench/results/old_eval.json`" not in current
    assert "`bench/results/old_eval.json`" in superseded and "`bench/results/old_metrics.json`" in superseded
    assert "`bench/results/make_train_cpu.json`" not in superseded
    assert "no call counted as an exact call" in superseded and "empty answer" in superseded
    # deterministic: sorted files, nothing of the rendering's own time
    order = [current.index(f"### `bench/results/{name}`") for name in ("make_train_cpu.json", "make_train_gpu.json",
                                                                          "new_eval.json", "sub/speed.json")]
    assert order == sorted(order)
    assert render_results.render(results, tmp_path) == text


def test_a_published_run_renders_with_its_provenance_and_is_never_overwritten(tmp_path):
    publish_run = _bench_module("publish_run")
    run, results = tmp_path / "run", tmp_path / "bench" / "results"
    run.mkdir()
    with pytest.raises(SystemExit, match="no record.json or eval.json"):
        publish_run.main([str(run), "long_seed42", "--out", str(results)])
    record = {**MAKE_TRAIN, "kind": "run", "command": "loralab-train experiment=toolcalls-long seed=42",
              "experiment": "toolcalls-long"}
    (run / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (run / "config.yaml").write_text("seed: 42\nrun_name: toolcalls-long\n", encoding="utf-8")
    evaluation = _eval_report(0.5)
    single = {"n": 10, "turn_accuracy": {"value": 0.7, "k": 7, "n": 10}}
    evaluation["splits"]["test"]["fine_tuned"]["report"]["groups"] = {"category": {"single": single}}
    (run / "eval.json").write_text(json.dumps(evaluation), encoding="utf-8")
    publish_run.main([str(run), "long_seed42", "--out", str(results)])
    published = json.loads((results / "long_seed42_eval.json").read_text(encoding="utf-8"))
    assert published["kind"] == "eval" and published["scoring"] == "strict"
    assert published["command"] == record["command"] and published["machine"] == record["machine"]
    assert published["splits"] == evaluation["splits"] and published["seed"] == 42
    text = render_results.render(results, tmp_path)
    section = text.split("### `bench/results/long_seed42_eval.json`")[1]
    assert "- command: `loralab-train experiment=toolcalls-long seed=42`" in section
    assert "test, per category:" in section and "| single | 10 | 70.0 % (7/10) |" in section
    # a second publication of that name is refused and leaves the first as it was
    before = (results / "long_seed42.json").read_bytes()
    (run / "record.json").write_text(json.dumps({**record, "steps": 1}), encoding="utf-8")
    with pytest.raises(SystemExit, match="already exist"):
        publish_run.main([str(run), "long_seed42", "--out", str(results)])
    assert (results / "long_seed42.json").read_bytes() == before
    publish_run.main([str(run), "long_seed42", "--out", str(results), "--replace"])
    assert json.loads((results / "long_seed42.json").read_text(encoding="utf-8"))["steps"] == 1


def test_a_run_made_on_a_copy_of_the_tree_is_published_with_its_commit_and_conditions(tmp_path):
    """A run on a machine that got the tree without git records no commit: publishing names it, and
    says how the run differed from its command; a commit that contradicts the record is refused."""
    publish_run = _bench_module("publish_run")
    run, results = tmp_path / "run", tmp_path / "bench" / "results"
    run.mkdir()
    (run / "record.json").write_text(json.dumps({**MAKE_TRAIN, "commit": None}), encoding="utf-8")
    (run / "eval.json").write_text(json.dumps(_eval_report(0.5)), encoding="utf-8")
    note = "setup installed carried wheels offline"
    publish_run.main([str(run), "make_train_gpu", "--out", str(results), "--commit", "abc1234", "--conditions", note])
    for name in ("make_train_gpu.json", "make_train_gpu_eval.json"):
        published = json.loads((results / name).read_text(encoding="utf-8"))
        assert published["commit"] == "abc1234" and published["conditions"] == note
    section = render_results.render(results, tmp_path).split("### `bench/results/make_train_gpu.json`")[1]
    assert "- commit: `abc1234`" in section and f"- conditions: {note}" in section

    (run / "record.json").write_text(json.dumps({**MAKE_TRAIN, "commit": "0123abcd"}), encoding="utf-8")
    with pytest.raises(SystemExit, match="names commit 0123abcd, not ffff"):
        publish_run.main([str(run), "other", "--out", str(results), "--commit", "ffff"])
    assert not (results / "other.json").exists()


def test_seeds_of_one_experiment_are_shown_together_with_their_mean_and_range(tmp_path):
    results = tmp_path / "bench" / "results"
    for seed, exact in ((42, 0.7), (43, 0.8)):
        _write(results, f"long_seed{seed}_eval.json",
               _eval_report(exact, scoring="strict", seed=seed, experiment="toolcalls-long", command=f"seed={seed}"))
    _write(results, "other_eval.json", _eval_report(0.1, scoring="strict"))   # no seed: not in the table
    # make train's own evaluation has its table; a faster machine's run of the same budget is no seed of these
    _write(results, "make_train_eval.json", _eval_report(0.2, scoring="strict", seed=42, experiment="toolcalls-long",
                                                         command="make train"))
    gpu = {"cpu": "AMD EPYC 9654", "cores": 16, "avx512_bf16": True, "gpu": "NVIDIA H200"}
    _write(results, "long_gpu_eval.json", _eval_report(0.9, scoring="strict", seed=42, experiment="toolcalls-long",
                                                       command="seed=42", machine=gpu))
    text = render_results.render(results, tmp_path)
    assert "make_train_eval" not in text.split("over training seeds")[1].split("\n### ")[0]
    section = text.split("## `toolcalls-long` over training seeds (CPU")[1].split("\n## ")[0]
    assert "long_gpu_eval" not in section
    assert "| test | 42 | `bench/results/long_gpu_eval.json` | 90.0 % (90/100) |" in text.split(
        "## `toolcalls-long` over training seeds (GPU NVIDIA H200)")[1].split("\n## ")[0]
    assert "| test | 42 | `bench/results/long_seed42_eval.json` | 70.0 % (70/100) |" in section
    assert "| test | 43 | `bench/results/long_seed43_eval.json` | 80.0 % (80/100) |" in section
    assert "| test | mean of 2 |  | 75.0 % (70.0 % to 80.0 %) |" in section
    assert "other_eval" not in section
    _write(tmp_path / "one", "long_seed42_eval.json",
           _eval_report(0.7, scoring="strict", seed=42, experiment="toolcalls-long"))
    assert "One seed so far" in render_results.render(tmp_path / "one", tmp_path)


def test_renderer_without_superseded_files_has_no_superseded_section(tmp_path):
    _write(tmp_path / "r", "make_train_cpu.json", MAKE_TRAIN)
    text = render_results.render(tmp_path / "r", tmp_path)
    assert "Superseded" not in text and "## `make train`" in text


# --------------------------------------------------------------------------- the README as a guide

def test_readme_is_a_short_guide_that_states_what_make_train_costs():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300, "README.md is too long: move detail into docs/"
    first_run = text.split("## Install and first run", 1)[1].split("\n## ", 1)[0]
    # each machine kind's expected time is stated (its figures come from RESULTS.md: checked below)
    for kind in ("AVX512-BF16", "AVX2", "GPU"):
        assert kind in first_run


FIGURES = (
    re.compile(r"\d+\.\d+\s?%"),                 # 51.6 %
    re.compile(r"\b\d+m\d{2}s\b"),               # 8m57s
    re.compile(r"\d[\d,.]*\s?tokens/s"),         # 485 tokens/s
    re.compile(r"\b[A-Z]/[A-Z] = \d+(?:\.\d+)?"),  # C/B = 1.03
    re.compile(r"\b\d+\.\d+x\b"),                # 1.33x
    re.compile(r"\b\d+ s vs \d+ s\b"),           # 81 s vs 123 s
)


@pytest.mark.parametrize("doc", GUIDES, ids=lambda p: p.name)
def test_guides_quote_only_figures_of_committed_results(doc):
    # the current results only: a superseded one's figures are not comparable, so no guide quotes them
    current = RESULTS_MD.read_text(encoding="utf-8").split("## Superseded")[0]
    results = re.sub(r"\s+%", "%", current)
    text = doc.read_text(encoding="utf-8")
    unbacked = sorted({m.group(0) for pattern in FIGURES for m in pattern.finditer(text)
                       if re.sub(r"\s+%", "%", m.group(0)) not in results})
    assert not unbacked, f"{doc.name} quotes figures no current committed result backs (docs/RESULTS.md): {unbacked}"
    assert not re.search(r"(?<![\w&/])#\d+\b", text), f"{doc.name} names an issue number"
    assert not re.search(r"seed 0\d\d|the seeds'", text), f"{doc.name} speaks of the seeds, not the product"


@pytest.mark.parametrize("doc", GUIDES, ids=lambda p: p.name)
def test_guides_link_to_files_that_exist(doc):
    text = doc.read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    missing = [t for t in targets if t and not (doc.parent / t).exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"


# --------------------------------------------------------------------------- the commands they show

def _hub_models() -> set[str]:
    return {p.stem for p in (ROOT / "conf" / "model").glob("*.yaml")
            if re.search(r"^source:\s*hub\b", p.read_text(encoding="utf-8"), re.M)}


def _hub_presets(hub_models: set[str]) -> set[str]:
    presets = set()
    for p in (ROOT / "conf" / "experiment").glob("*.yaml"):
        chosen = re.search(r"override /model:\s*([\w.-]+)", p.read_text(encoding="utf-8"))
        if chosen and chosen.group(1) in hub_models:
            presets.add(p.stem)
    return presets


def _bash_lines(doc: Path) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _skip_reason(line: str, args: list[str], hub_models: set[str], hub_presets: set[str]) -> str | None:
    if "hydra/launcher=" in line or "postgresql://" in line:
        return "a launcher or a database"
    for arg in args:
        key, _, value = arg.partition("=")
        if (key == "model" and value in hub_models) or (key == "experiment" and value in hub_presets):
            return "a hub model"
    if re.search(r"<[^>]+>", line) or any(re.search(r"\b[A-Z][A-Z0-9_]{2,}\b", a) for a in args):
        return "a placeholder"
    return None


def commands() -> list[tuple[str, list[str]]]:
    hub_models = _hub_models()
    hub_presets = _hub_presets(hub_models)
    found = []
    for doc in (README, ROOT / "docs" / "SWEEPS.md"):
        for line in _bash_lines(doc):
            if not line.startswith("loralab-train"):
                continue
            args = shlex.split(line, comments=True)[1:]
            if _skip_reason(line, args, hub_models, hub_presets) is None:
                found.append((f"{doc.name}: {shlex.join(['loralab-train', *args])}", args))
    return found


VALUED_FLAGS = ("--cfg", "-c", "--package", "-p", "--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd",
                "--info", "-i")


def _one_job(args: list[str]) -> list[str]:
    """The arguments of the first job: no -m, every sweep value reduced to its first point."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out = []
    takes_value = False  # the word after --cfg, -cn, ... is the flag's value, not an override
    for arg in args:
        if takes_value or arg.startswith("-"):
            takes_value = arg in VALUED_FLAGS
            if arg not in ("-m", "--multirun"):
                out.append(arg)
            continue
        override = parser.parse_overrides([arg])[0]
        if override.is_sweep_override():
            try:
                first = next(override.sweep_string_iterator())
            except Exception:  # an interval has no points to iterate: its lower bound
                first = override.value().start
            arg = f"{override.get_key_element()}={first}"
        out.append(arg)
    return out


def _script(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    assert found, f"console script {name} is not installed (pip install -e .)"
    return found


def test_the_guides_show_commands_to_run():
    shown = commands()
    assert len(shown) >= 10, shown
    assert any("-m" in args for _, args in shown) and any("hparams_search=lr-rank" in args for _, args in shown)


@pytest.mark.integration  # a process per command: the whole suite runs it, make test-fast does not
@pytest.mark.parametrize("where,args", commands(), ids=[c[0] for c in commands()])
def test_documented_command_composes(where, args, tmp_path):
    import loralab
    from loralab.config.overrides import unknown_key_problems

    job = _one_job(args)
    cli = job if any(a.startswith(("--cfg", "--help")) for a in job) else [*job, "--cfg", "job"]
    done = subprocess.run([_script("loralab-train"), *cli], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"{where}\n-> loralab-train {shlex.join(cli)}\n{done.stderr[-2000:]}"
    overrides = [a for i, a in enumerate(job) if not a.startswith("-") and (i == 0 or job[i - 1] not in VALUED_FLAGS)]
    groups = {p.name for p in (ROOT / "conf").iterdir() if p.is_dir()}
    assert unknown_key_problems(overrides, groups) == []
    loralab.compose(overrides)  # validated: a value the schema refuses raises here


def _mentioned_scripts() -> set[str]:
    text = "\n".join(doc.read_text(encoding="utf-8") for doc in GUIDES)
    return set(re.findall(r"(?<![\w/-])(loralab-[a-z]+(?:-[a-z]+)*)(?![\w.-])", text))


@pytest.mark.integration
def test_every_console_script_the_guides_mention_exists_and_answers_help():
    declared = set(re.findall(r'^(loralab-[\w-]+)\s*=', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M))
    mentioned = _mentioned_scripts()
    assert {"loralab-eval", "loralab-merge", "loralab-compare", "loralab-estimate", "loralab-data-check"} <= mentioned
    assert mentioned <= declared, f"the docs mention scripts that do not exist: {sorted(mentioned - declared)}"
    helps = [[name, "--help"] for name in sorted(mentioned - {"loralab-train"})] + [["loralab-eval", "score", "--help"]]
    for cmd in helps:
        done = subprocess.run([_script(cmd[0]), *cmd[1:]], env=ENV, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage:" in done.stdout, f"{shlex.join(cmd)}: {done.stderr[-1000:]}"
