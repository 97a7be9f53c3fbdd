"""The search space: Hydra's sweep override grammar -> Optuna distributions, and back to override
text for each trial.

Imported by Hydra's plugin scan: Optuna is imported inside the functions. No ``from __future__
import annotations``: the scan executes modules outside sys.modules, where dataclasses cannot
resolve string annotations."""


import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer

from ._errors import SweepConfigError

@dataclass
class SearchSpace:
    # Optuna param name (the config key) -> distribution
    distributions: Dict[str, Any] = field(default_factory=dict)
    # override key as written (keeps +, ++, @package) per param name
    keys: Dict[str, str] = field(default_factory=dict)
    # categorical params: the override text of each choice (lists, dicts, quoted strings)
    choice_text: Dict[str, Dict[Any, str]] = field(default_factory=dict)
    # non-sweep overrides, passed unchanged to every trial
    fixed: List[str] = field(default_factory=list)

    def overrides_for(self, params: Mapping[str, Any]) -> List[str]:
        out = []
        for name, value in params.items():
            if name not in self.keys:
                continue  # a param of an older search space (resumed study): not ours to set
            text = self.choice_text.get(name, {}).get(_hashable(value))
            out.append(f"{self.keys[name]}={text if text is not None else format_value(value)}")
        return [*self.fixed, *out]


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def format_value(value: Any) -> str:
    """An Optuna parameter value as Hydra override text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return Override._get_value_element_as_str(value)


def quote(value: str) -> str:
    """A string as a quoted Hydra override value when it holds grammar characters."""
    if re.fullmatch(r"[\w./:@%+~-]*", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def distribution_from_override(override: Override) -> tuple[Any, Dict[Any, str] | None]:
    """The Optuna distribution for one sweep override (the old hydra-optuna-sweeper's syntax):

    - ``choice(a, b, c)`` / ``a,b,c``: CategoricalDistribution;
    - ``range(start, stop[, step])``: IntDistribution (FloatDistribution with a float step) over
      the values Hydra's range yields: ``stop`` is excluded, as in Hydra (range(8, 65, 8) = 8..64);
      ``shuffle(range(...))``: categorical over the same values;
    - ``interval(a, b)``: FloatDistribution; ``int(interval(a, b))``: IntDistribution;
      ``tag(log, ...)`` on either: log scale.
    Returns (distribution, choice text or None)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    key = override.get_key_element()
    value = override.value()
    tags = set(getattr(value, "tags", None) or ())
    log_scale = "log" in tags
    if override.is_choice_sweep():
        try:  # choice(...), a,b,c, and glob(...) over a config group's options
            items = list(override.sweep_iterator(transformer=Transformer.identity))
        except Exception as exc:
            raise SweepConfigError(f"{key}: {override.get_value_string()}: {exc}") from exc
        if not items:
            raise SweepConfigError(f"{key}: {override.get_value_string()} matches nothing")
        choices, texts = [], {}
        for item in items:
            if item is None or isinstance(item, (bool, int, float, str)):
                choice = item
            else:  # lists, dicts: Optuna stores primitives; their override text stands for them
                choice = Override._get_value_element_as_str(item)
            choices.append(choice)
            texts[_hashable(choice)] = Override._get_value_element_as_str(item)
        if len(set(map(_hashable, choices))) != len(choices):
            raise SweepConfigError(f"{key}: choice() lists a value twice: {choices}")
        return CategoricalDistribution(choices), texts
    if override.is_range_sweep():
        assert isinstance(value, RangeSweep)
        values = list(override.sweep_iterator(transformer=Transformer.identity))
        if not values:
            raise SweepConfigError(f"{key}: {override.get_value_string()} yields no value "
                                   "(Hydra's range excludes stop)")
        if value.shuffle:
            return CategoricalDistribution(values), None
        step = value.step
        low, high = min(values), max(values)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and isinstance(step, int):
            if log_scale and abs(step) != 1:
                raise SweepConfigError(f"{key}: a log-scale range needs step 1")
            return IntDistribution(int(low), int(high), log=log_scale, step=1 if log_scale else abs(int(step))), None
        if log_scale:
            raise SweepConfigError(f"{key}: log scale over a float range is not supported; use tag(log, interval(a, b))")
        return FloatDistribution(float(low), float(high), step=abs(float(step)) if len(values) > 1 else None), None
    if override.is_interval_sweep():
        assert isinstance(value, IntervalSweep)
        start, end = value.start, value.end
        if start is None or end is None or not start < end:
            raise SweepConfigError(f"{key}: interval needs start < end, got {start}, {end}")
        if log_scale and start <= 0:
            raise SweepConfigError(f"{key}: a log-scale interval needs start > 0, got {start}")
        if isinstance(start, int) and isinstance(end, int):
            return IntDistribution(start, end, log=log_scale), None
        return FloatDistribution(float(start), float(end), log=log_scale), None
    raise SweepConfigError(f"{key}: {override.input_line!r} is not a sweep the Optuna sweeper supports "
                           "(choice, range, interval, tag(log, ...))")


def parse_search_space(params: Optional[Mapping[str, str]], arguments: Sequence[str],
                       parser: OverridesParser | None = None) -> SearchSpace:
    """``params`` (hydra.sweeper.params) then the command-line overrides, which win on a shared
    key: a sweep override replaces the param's range, a plain override fixes the key for every
    trial. Plain overrides of other keys pass through unchanged."""
    parser = parser or OverridesParser.create()
    lines = [f"{k}={v}" for k, v in (params or {}).items()]
    try:
        from_params = parser.parse_overrides(lines)
        from_cli = parser.parse_overrides(list(arguments))
    except Exception as exc:  # OverrideParseException: the grammar's message says where
        raise SweepConfigError(f"cannot parse the sweep overrides: {exc}") from exc
    merged: Dict[str, Override] = {}
    for override in [*from_params, *from_cli]:
        merged.pop(override.key_or_group, None)  # the later one wins, and keeps its position
        merged[override.key_or_group] = override
    space = SearchSpace()
    for name, override in merged.items():
        if override.is_sweep_override():
            if override.is_delete():
                raise SweepConfigError(f"{override.input_line}: a delete override cannot sweep")
            dist, texts = distribution_from_override(override)
            space.distributions[name] = dist
            space.keys[name] = override.get_key_element()
            if texts:
                space.choice_text[name] = texts
        else:
            space.fixed.append(override.input_line)
    return space


def suggest(trial, name: str, dist) -> Any:
    """trial.suggest_* for a distribution (what study.ask(distributions) does, in public API)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"{name}: unsupported distribution {dist!r}")


def describe(dist) -> str:
    """A distribution as short text for the study's record: ``choice(8, 16)``, ``int 8..64 step 8``,
    ``float 5e-05..0.0005 log``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return "choice(" + ", ".join(format_value(c) for c in dist.choices) + ")"
    if isinstance(dist, (IntDistribution, FloatDistribution)):
        kind = "int" if isinstance(dist, IntDistribution) else "float"
        text = f"{kind} {format_value(dist.low)}..{format_value(dist.high)}"
        if dist.step is not None and not (kind == "int" and dist.step == 1):
            text += f" step {format_value(dist.step)}"
        return text + (" log" if dist.log else "")
    return repr(dist)


def grid_search_space(space: SearchSpace) -> Dict[str, list]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    grid = {}
    for name, dist in space.distributions.items():
        if isinstance(dist, CategoricalDistribution):
            grid[name] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[name] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, FloatDistribution) and dist.step is not None:
            n = int(round((dist.high - dist.low) / dist.step))
            grid[name] = [dist.low + i * dist.step for i in range(n + 1)]
        else:
            raise SweepConfigError(f"hydra.sweeper.sampler.type=grid needs choice() or range() for every "
                                   f"parameter; {name} is continuous ({dist})")
    return grid
