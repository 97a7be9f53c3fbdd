"""Keep credentials out of everything a run writes or sends: config.yaml, manifest.json, the
Hydra record, tracker configs (wandb, TensorBoard) and command lines.

``redact(obj)`` returns a deep copy of a dict / list / tuple / string (or an OmegaConf config)
with secrets replaced by ``***``:

- every string value under a key named like a secret (``token``, ``secret``, ``password``,
  ``api_key``, ``credential``, ``auth`` ... matched on the words of the key, so ``max_new_tokens``,
  ``tokenizer`` or ``author`` are not secrets, and neither are special-token settings such as
  ``pad_token: <|endoftext|>`` unless their value looks like a credential);
- values that look like tokens wherever they appear: Hugging Face ``hf_...`` tokens, ``sk-...``
  keys, W&B API keys (40 hex characters, unless the key names a hash such as ``git_sha``);
- ``name=value`` / ``name: value`` pairs inside strings whose name is a secret (override strings
  like ``+env.variables.HF_TOKEN=...``, YAML or log text);
- passwords inside URLs: ``postgresql://user:pw@host`` becomes ``postgresql://user:***@host``.

Numbers, booleans and None are never redacted (``use_auth_token: true`` says nothing secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MASK = "***"

# Words that make a key a secret wherever they appear in it.
_SECRET_WORDS = {"secret", "secrets", "password", "passwd", "passphrase", "apikey", "credential",
                 "credentials", "creds", "auth", "authorization", "bearer", "cookie", "privatekey", "accesskey",
                 "secretkey", "clientsecret"}
# Two-word secret names (api_key, access_key, ...): the second word "key" after one of these.
_KEY_QUALIFIERS = {"api", "access", "secret", "private", "signing", "encryption", "license", "account", "master"}
# "token" is a secret unless it names a special token of a tokenizer (pad_token, end_of_turn_token)
# or a token count / id (token_type_ids, token_budget handled by value type).
_SPECIAL_TOKEN_QUALIFIERS = {"pad", "eos", "bos", "unk", "sep", "cls", "mask", "end", "start", "turn", "special",
                             "im", "eot", "eom", "decoder", "image", "audio", "video", "chat", "stop", "tool",
                             "call", "think", "placeholder", "begin", "fim", "additional"}
_TOKEN_FOLLOWERS = {"id", "ids", "type", "types", "count", "counts", "len", "length", "index", "indices",
                    "limit", "budget", "str", "strs", "map", "offset", "offsets"}
# Keys whose 40-hex values are hashes, not W&B keys.
_HASH_KEY_WORDS = {"sha", "sha1", "sha256", "commit", "revision", "rev", "hash", "digest", "checksum",
                   "fingerprint", "etag", "id", "uuid", "oid", "head"}

_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}")
_SK_KEY = re.compile(r"\bsk-(?:[A-Za-z]+-)?[A-Za-z0-9_\-]{20,}")
_WANDB_V1 = re.compile(r"\bwandb_v1_[A-Za-z0-9_\-]{20,}")
_HEX40 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*:)(?P<pw>[^\s@/?#]+)(?P<at>@)")
_CREDENTIAL_LIKE = re.compile(r"[A-Za-z0-9+/=_\-.]{32,}")
# name=value / name: value inside free text; the value may be quoted.
_ASSIGNMENT = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>[ \t]*[=:][ \t]*)"
    r"(?P<value>(?:(?i:bearer|basic|token)[ \t]+)?(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s,;'\"}\]\)]+))")


def _words(key: str) -> list[str]:
    """``HF_TOKEN`` -> [hf, token]; ``wandbApiKey`` -> [wandb, api, key]; ``x.y-z`` -> [x, y, z]."""
    key = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key))
    return [w for w in re.split(r"[^A-Za-z0-9]+", key.lower()) if w]


def _classify(key: Any) -> str:
    """'secret' (redact any string), 'special' (a tokenizer's special token: redact only values that
    look like credentials), 'hash' (40-hex values are hashes) or 'plain'."""
    if key is None:
        return "plain"
    words = _words(key)
    if not words:
        return "plain"
    joined = "".join(words)
    if joined in _SECRET_WORDS or any(w in _SECRET_WORDS for w in words):
        return "secret"
    for i, w in enumerate(words):
        if w == "key" and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            return "secret"
        if w == "token":
            before = words[i - 1] if i > 0 else None
            after = words[i + 1] if i + 1 < len(words) else None
            if after in _TOKEN_FOLLOWERS:
                continue
            if before in _SPECIAL_TOKEN_QUALIFIERS:
                return "special"
            return "secret"
    if any(w in _HASH_KEY_WORDS for w in words):
        return "hash"
    return "plain"


def is_secret_key(key: Any) -> bool:
    """True when every string value under ``key`` is treated as a secret."""
    return _classify(key) == "secret"


def _looks_like_credential(value: str) -> bool:
    value = value.strip()
    return bool(_CREDENTIAL_LIKE.fullmatch(value)) and not value.startswith(("/", "<", "."))


def _redact_assignment(match: re.Match) -> str:
    name, sep, value = match.group("name"), match.group("sep"), match.group("value")
    last = name.rsplit(".", 1)[-1]
    kind = _classify(last)
    bare = value.strip("\"'")
    if not bare or bare == MASK or "://" in bare:  # URLs are handled by the URL rule (keeps the user name)
        return match.group(0)
    if kind == "secret" and bare.lower() not in {"true", "false", "null", "none", "~"} and not _is_number(bare):
        quote = value[0] if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1 else ""
        return f"{name}{sep}{quote}{MASK}{quote}"
    if kind == "special" and _looks_like_credential(bare):
        return f"{name}{sep}{MASK}"
    return match.group(0)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def redact_text(text: str, key: Any = None) -> str:
    """Redact the secrets inside one string (``key``: the name it is stored under, if any)."""
    if not isinstance(text, str) or not text:
        return text
    kind = _classify(key)
    if kind == "secret":
        return MASK
    if kind == "special" and _looks_like_credential(text):
        return MASK
    out = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}{m.group('at')}"
                            if m.group("pw") != MASK else m.group(0), text)
    out = _HF_TOKEN.sub(MASK, out)
    out = _SK_KEY.sub(MASK, out)
    out = _WANDB_V1.sub(MASK, out)
    if kind != "hash":
        if _HEX40.fullmatch(out.strip()):
            return MASK
        # a 40-hex value after a secret-looking name inside text (WANDB_API_KEY=...) is caught below;
        # a bare 40-hex substring in free text (a git sha in a log line) is left alone.
    if "=" in out or ":" in out:
        out = _ASSIGNMENT.sub(_redact_assignment, out)
    return out


def redact(obj: Any, key: Any = None) -> Any:
    """A redacted deep copy of ``obj``: dicts (and OmegaConf configs), lists, tuples and strings are
    rebuilt; other values are returned as they are."""
    try:  # an OmegaConf config: resolve it to plain containers first
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(obj, (DictConfig, ListConfig)):
            obj = OmegaConf.to_container(obj, resolve=True, enum_to_str=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    if isinstance(obj, Mapping):
        secret_parent = _classify(key) == "secret"
        out = {}
        for k, v in obj.items():
            if secret_parent and isinstance(v, (str, bytes)):
                out[k] = MASK if v else v
            elif secret_parent and isinstance(v, (Mapping, list, tuple)):
                out[k] = redact(v, key)  # everything under a secret key stays secret
            else:
                out[k] = redact(v, k)
        return out
    if isinstance(obj, list):
        return [redact(v, key) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact(v, key) for v in obj)
    if isinstance(obj, bytes):
        return MASK.encode() if obj and _classify(key) == "secret" else obj
    if isinstance(obj, str):
        return redact_text(str(obj), key)  # str(): a config choice (StrEnum) becomes its plain value
    return obj


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with secret values masked (``+env.variables.HF_TOKEN=x`` -> ``...=***``)."""
    return [redact_text(a) for a in argv]


def redacted_file_text(path: str | Path) -> str | None:
    """A file's text with its secrets masked, or None when there is nothing to mask (or it cannot
    be read). YAML and JSON files are parsed, redacted with :func:`redact` and dumped again (same
    data, same key order); other text files (logs) are redacted line by line with :func:`redact_text`."""
    import json

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    new = None
    suffix = path.suffix.lower()
    parsed = False
    if suffix in (".yaml", ".yml", ".json"):
        try:
            if suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
            parsed = True
        except Exception:  # not valid YAML / JSON after all: treat it as text
            pass
    if parsed:
        clean = redact(data)
        if clean != data:
            if suffix == ".json":
                new = json.dumps(clean, indent=2, ensure_ascii=False) + "\n"
            else:
                new = yaml.safe_dump(clean, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    else:
        lines = text.split("\n")
        clean_lines = [redact_text(line) for line in lines]
        if clean_lines != lines:
            new = "\n".join(clean_lines)
    return None if new == text else new


# Environment variables worth recording in a manifest (exact names or prefixes); secret ones are masked.
ENV_NAMES = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "TOKENIZERS_PARALLELISM", "PYTORCH_CUDA_ALLOC_CONF", "WORLD_SIZE", "RANK", "LOCAL_RANK",
             "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "SLURM_JOB_ID", "LORALAB_CACHE", "HF_HOME",
             "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT",
             "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_DIR",
             "WANDB_BASE_URL", "WANDB_API_KEY", "TENSORBOARD_LOGGING_DIR")
ENV_PREFIXES = ("CUDA_", "NCCL_", "PYTORCH_", "TORCH_", "ACCELERATE_", "LORALAB_", "BNB_")


def redacted_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables that matter for reproducing a run, secrets masked: a set
    ``HF_TOKEN`` is recorded as ``***`` (so one can tell it was set) and never by value."""
    environ = os.environ if environ is None else environ
    out = {}
    for name in sorted(environ):
        if name in ENV_NAMES or name.startswith(ENV_PREFIXES):
            out[name] = redact_text(str(environ[name]), name)
    return out
