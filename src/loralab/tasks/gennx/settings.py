"""The GEN NX task's own settings, ``data.generator.*``. Its data options compose this schema into
``data`` (``defaults: [/schema/data/gennx@_here_]``), so the settings are typed and a misspelled key
fails like any other; the core schema knows nothing of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config.schema import DataConfig


@dataclass
class GeneratorConfig:
    # seed of the generated task: the same seed and size give identical data
    seed: int = 0
    # examples generated, split 80/10/10 into train/validation/test (plus a test_id set the size of test)
    size: int = 3000
    # share of each intent's phrasings kept out of training, to test unseen phrasings
    heldout_template_fraction: float = 0.3
    # weight per category (single, multi, multi_turn, irrelevant, clarify); empty: the generator's default
    mix: dict[str, float] = field(default_factory=dict)
    # the same, for the train split alone (validation and test keep `mix`); empty: `mix`
    train_mix: dict[str, float] = field(default_factory=dict)
    # share [0, 1] of train's clarify requests (a value missing) also trained completed: the same
    # request with the value written in, answered with the call; added on top of train's count.
    # Only requests that write every other value the call needs can have one
    clarify_twins: float = 0.0


@dataclass
class GennxDataConfig(DataConfig):
    """``data`` with the bundled task's generator settings."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
