"""The bundled GEN NX task: Korean and English requests to a structural-engineering API, answered
with JSON tool calls, generated deterministically (generator.py) from the phrasings in
phrasings.yaml against the tool schemas in tools.py. Registered as ``data.source=gennx`` through
the ``loralab.data_sources`` entry point; its settings are ``data.generator.*`` (settings.py)."""

from __future__ import annotations

from omegaconf import DictConfig

from ...data.sources import DataSource
from ...errors import Problem
from .settings import GennxDataConfig
from .tools import ARGUMENT_WORDS, TOOLS


def _load(data_cfg: DictConfig) -> tuple[dict[str, list[dict]], list[dict]]:
    from .generator import generate_splits

    gen = data_cfg.generator
    records = generate_splits(seed=gen.seed, size=gen.size, mix=dict(gen.mix) or None,
                              heldout_template_fraction=gen.heldout_template_fraction,
                              train_mix=dict(gen.train_mix) or None, clarify_twins=gen.clarify_twins)
    return records, TOOLS


def _config_problems(data_cfg: DictConfig) -> list[Problem]:
    from .generator import mix_problem, twins_problem

    gen, problems = data_cfg.generator, []
    if gen.size < 100:
        problems.append(Problem("data.generator.size", gen.size, "must be >= 100 for an 80/10/10 split"))
    for name in ("mix", "train_mix"):
        problem = mix_problem(dict(gen[name])) if gen[name] else None
        if problem:
            problems.append(Problem(f"data.generator.{name}", dict(gen[name]), problem))
    problem = twins_problem(gen.clarify_twins)
    if problem:
        problems.append(Problem("data.generator.clarify_twins", gen.clarify_twins, problem))
    return problems


SOURCE = DataSource("gennx", _load, _config_problems, ARGUMENT_WORDS, schema=GennxDataConfig)
