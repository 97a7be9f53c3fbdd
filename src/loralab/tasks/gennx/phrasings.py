"""Phrasing templates, surface vocabularies and canned answers for the GEN NX task.

A template's id is ``<family>.<lang>.<index>`` (e.g. ``node.create.ko.03``); its intent is
``<family>.<lang>``. Each intent's templates are split into a training and a held-out pool, so
an intent needs enough templates that both pools stay varied. Templates hold only literal text
and ``{slot}`` fields: every value the gold answer depends on comes from a slot, which lets the
generator inject typos into the literal text without ever touching a value. Korean templates
avoid particles right after a slot (은/는, 으로/로 depend on the value's last syllable).

The text itself lives in phrasings.yaml beside this module; this module reads it once and gives
its top-level keys as constants (``SLOTS`` as tuples: a family's required and optional slots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_DATA: dict[str, Any] = yaml.load((Path(__file__).with_name("phrasings.yaml")).read_text(encoding="utf-8"),
                                  Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

# family -> (required slots: every template must carry them, optional slots)
SLOTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    family: (tuple(required), tuple(optional)) for family, (required, optional) in _DATA["SLOTS"].items()}
PHRASINGS: dict[str, list[str]] = _DATA["PHRASINGS"]
IRRELEVANT_VOCAB: dict[str, dict[str, list[str]]] = _DATA["IRRELEVANT_VOCAB"]
IRRELEVANT_ANSWERS: dict[str, list[str]] = _DATA["IRRELEVANT_ANSWERS"]
CLARIFY_ANSWERS: dict[str, dict[str, list[str]]] = _DATA["CLARIFY_ANSWERS"]
CLARIFY_COMPLETIONS: dict[str, dict[str, list[str]]] = _DATA["CLARIFY_COMPLETIONS"]
SUMMARIES: dict[str, dict[str, str]] = _DATA["SUMMARIES"]
WORDS: dict[str, dict[str, dict[str, list[str]]]] = _DATA["WORDS"]
SECT_FORMS: dict[str, dict[str, list[str]]] = _DATA["SECT_FORMS"]
PREFIXES: dict[str, list[str]] = _DATA["PREFIXES"]
