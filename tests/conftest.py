"""Shared fixtures for the whole suite (tests/e2e relies on ``tiny_model_dir`` too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _loralab_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point LORALAB_CACHE at a session temp dir unless the caller already set it.

    Tests must never write into ~/.cache/loralab by accident; a caller that wants to share the
    materialised embedded model between runs sets LORALAB_CACHE itself and it is kept as is."""
    if os.environ.get("LORALAB_CACHE"):
        yield Path(os.environ["LORALAB_CACHE"])
        return
    cache = tmp_path_factory.mktemp("loralab-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LORALAB_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a byte-level BPE ChatML tokenizer (built once per session)."""
    from loralab.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def pytest_collection_modifyitems(config, items):
    """Tests that train the tiny model (through the CLI or the API) are integration tests:
    `make test-fast` leaves them out. Tokenizer-only users of the fixture (tests/data) stay unit tests."""
    for item in items:
        if "tiny_model_dir" in getattr(item, "fixturenames", ()) and "/tests/data/" not in str(item.fspath):
            item.add_marker(pytest.mark.integration)
