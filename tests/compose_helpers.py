"""What a test sees when the typed schema refuses a value while the config is composed."""

from __future__ import annotations

import pytest

import loralab


def refusal(overrides: list[str]) -> str:
    """OmegaConf's message for a value its type refuses (e.g. one outside an enumeration): it names
    the field, the value and the allowed ones."""
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as err:
        loralab.compose(overrides)
    return str(err.value.__cause__)
