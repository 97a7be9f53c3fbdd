"""What a text answer (one without a tool call) says, for the no-call rules of scoring.py.

Narrow heuristics over the languages of the bundled data, English and Korean:

* ``claims_action``: a sentence reports a modelling action as done: an English past participle
  ("created", "added", "deleted", "applied", ...) not within two words after a modal, "be", "to",
  "if"/"once" or a negation ("will be created", "not created" claim nothing), or a Korean action
  noun followed by a past or completed form ("생성했습니다", "추가했어요", "삭제 완료",
  "적용되었습니다"; "생성하지 않았습니다" and "완료되면" claim nothing). A sentence ending in
  "?" claims nothing.
* ``asks_for``: the answer asks something (a question mark, or a request such as "알려주세요" or
  "please give") and names every missing argument, by its name or one of its usual words
  (``argument_words``), in either language.
"""

from __future__ import annotations

import re
from typing import Any

from ..data.sources import argument_words

_EN_DONE = re.compile(r"(?<![A-Za-z])(created|added|deleted|removed|assigned|applied|defined|updated|modified|"
                      r"inserted|executed|completed|generated|placed|finished|ran|done)(?![A-Za-z])", re.I)
_EN_NOT_DONE = {"be", "being", "to", "not", "never", "no", "nothing", "will", "would", "should", "could", "can",
                "must", "may", "might", "shall", "cannot", "can't", "won't", "haven't", "hasn't", "hadn't",
                "didn't", "wasn't", "weren't", "isn't", "aren't", "get", "gets", "once", "if", "when", "before",
                "until", "unless"}
_KO_ACTIONS = ("생성|추가|삭제|제거|적용|정의|지정|할당|입력|실행|설정|등록|작성|부여|재하|수정|변경|처리|배치|연결|"
               "해석|저장|업데이트|반영")
_KO_DONE = re.compile(
    rf"(?:{_KO_ACTIONS})\s*(?:을|를|이|가)?\s*(?:했|하였|됐|되었|되어\s*있|돼\s*있|"
    r"완료(?!\s*(?:되면|하면|한\s*후|후|되는|할|하겠|될|해\s*주)))"
    r"|만들었|넣었|지웠|마쳤|끝냈|완료\s*(?:했|하였|됐|되었|입니다|[!.]|$)")
_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+|\n+")
_ASKS = re.compile(r"[?？]|알려\s*주|주시겠|주세요|골라\s*주|말씀해|please\s+(?:give|provide|specify|tell|confirm|let)|"
                   r"let me know|tell me|could you|can you|would you", re.I)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _en_claim(sentence: str) -> bool:
    for found in _EN_DONE.finditer(sentence):
        before = re.findall(r"[A-Za-z']+", sentence[:found.start()].casefold())[-2:]
        if not _EN_NOT_DONE & set(before):
            return True
    return False


def claims_action(text: str) -> bool:
    """Whether ``text`` reports an action as carried out (see the module docstring)."""
    return any(_en_claim(s) or _KO_DONE.search(s) for s in _sentences(text) if not s.endswith(("?", "？")))


def missing_pairs(value: Any) -> list[tuple[str | None, str]]:
    """(tool or None, argument) for a record's ``missing_arguments``: a list of argument names, or
    an object of tool name -> argument names. ValueError for anything else."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(a, str) and a for a in value):
        return [(None, a) for a in value]
    if isinstance(value, dict) and all(isinstance(t, str) and isinstance(args, list) and args
                                       and all(isinstance(a, str) and a for a in args)
                                       for t, args in value.items()):
        return [(tool, a) for tool, args in value.items() for a in args]
    raise ValueError("'missing_arguments' must be a list of argument names, or an object of tool name -> "
                     f"list of argument names, got {value!r}")


def mentions(text: str, word: str) -> bool:
    """``word`` in ``text``: a whole word (plural allowed) for Latin script, ignoring spaces for Korean."""
    if word.isascii():
        body = r"\s+".join(re.escape(part) for part in word.split())
        return re.search(rf"(?<![A-Za-z0-9]){body}(?:e?s)?(?![A-Za-z0-9])", text, re.I) is not None
    return "".join(word.casefold().split()) in "".join(text.casefold().split())


def asks_for(text: str, missing: list[tuple[str | None, str]]) -> bool:
    """Whether ``text`` asks a question naming every missing argument (see the module docstring)."""
    return bool(_ASKS.search(text)) and all(any(mentions(text, w) for w in argument_words(tool, arg))
                                            for tool, arg in missing)
