"""The tiny fixture model's config and tokenizer, shared by the data tests (tokenizer only: no training)."""

from __future__ import annotations

import pytest

import loralab
from loralab.modeling import build_tokenizer


@pytest.fixture(scope="module")
def cfg(tiny_model_dir):
    return loralab.compose(["model.source=hub", f"model.name_or_path='{tiny_model_dir}'"])


@pytest.fixture(scope="module")
def tokenizer(cfg, tiny_model_dir):
    return build_tokenizer(cfg.model, str(tiny_model_dir))
