"""data.source: the bundled task and a task of one's own reach the core only through the
``loralab.data_sources`` entry points (loralab/data/sources.py)."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import loralab
from loralab.data import sources
from loralab.data.pipeline import load_splits
from loralab.errors import ConfigError
from loralab.evaluation.replies import asks_for


@pytest.fixture
def toy_registered(monkeypatch):
    """The toy task registered as an installed package's entry point would be."""
    registered = {**sources._entry_points(),
                  "toy": EntryPoint("toy", "tasks.toy_task:SOURCE", sources.ENTRY_POINT_GROUP)}
    monkeypatch.setattr(sources, "_entry_points", lambda: registered)
    sources.get.cache_clear()
    yield
    sources.get.cache_clear()


def test_the_bundled_task_is_registered_by_its_entry_point():
    assert sources.names() == ("files", "gennx")
    gennx = sources.get("gennx")
    assert gennx.name == "gennx"
    records, tools = gennx.load(loralab.compose(["data.generator.size=200"]).data)
    assert len(records["train"]) == 160 and {t["function"]["name"] for t in tools} >= {"POST /db/node"}


def test_an_unknown_source_is_refused_with_the_ones_there_are():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["data.source=nope"])
    assert "data.source = 'nope': must be one of files, gennx" in str(err.value)


def test_a_task_of_ones_own_plugs_in_through_the_registry(toy_registered):
    cfg = loralab.compose(["data.source=toy", "data.generator.size=100"])
    splits = load_splits(cfg.data)
    assert [len(splits.records[s]) for s in ("train", "validation", "test")] == [8, 1, 1]
    assert splits.tools[0]["function"]["name"] == "ping"
    # its own settings are checked with the rest of the config, by its own rule
    with pytest.raises(ConfigError, match=r"data.generator.size = 99: the toy task wants at least 100"):
        loralab.compose(["data.source=toy", "data.generator.size=99"])
    # the scorer knows the words it names its arguments by
    assert "server" in sources.argument_words("ping", "host")
    assert asks_for("Which server should I ping?", [("ping", "host")])
    assert not asks_for("Which one should I ping?", [("ping", "host")])


def test_an_install_without_the_entry_points_says_how_to_register_them(monkeypatch):
    monkeypatch.setattr(sources, "_entry_points", lambda: {})  # installed before the entry points existed
    with pytest.raises(ConfigError, match=r"no task is registered.*pip install -e \."):
        loralab.compose([])


def test_an_entry_point_that_names_something_else_is_a_clear_error(monkeypatch):
    bad = {"odd": EntryPoint("odd", "tasks.toy_task:TOOLS", sources.ENTRY_POINT_GROUP)}
    monkeypatch.setattr(sources, "_entry_points", lambda: bad)
    sources.get.cache_clear()
    try:
        with pytest.raises(TypeError, match="entry point 'odd' in loralab.data_sources must name a DataSource"):
            sources.get("odd")
    finally:
        sources.get.cache_clear()


def test_the_core_schema_declares_no_task_setting_and_the_tasks_data_option_brings_them():
    from omegaconf import OmegaConf

    from loralab.config.schema import RunConfig
    from loralab.tasks.gennx.settings import GennxDataConfig

    assert "generator" not in OmegaConf.structured(RunConfig).data
    bundled = loralab.compose(["data.generator.size=200"]).data
    assert OmegaConf.get_type(bundled) is GennxDataConfig and bundled.generator.size == 200
    own = loralab.compose(["data=files", "data.train_file=train.jsonl"]).data
    assert "generator" not in own


def test_the_tasks_settings_are_typed_and_belong_to_its_data_options():
    from compose_helpers import refusal

    assert "full_key: data.generator.size" in refusal(["data.generator.size=many"])
    with pytest.raises(ConfigError, match=r"data.source = 'gennx': the gennx task's settings come with its data "
                                          r"options.*data=gennx-tools"):
        loralab.compose(["data=files", "data.source=gennx"])


def test_a_tasks_setting_added_to_a_run_on_ones_own_files_is_refused_not_ignored():
    # Hydra suggests +data.generator.size=... for data=files; the run would then ignore it
    with pytest.raises(ConfigError, match=r"data.generator = '\{\.\.\.\}': unknown key: a setting of the gennx task, "
                                          r"which this run does not use \(data.source=files\)"):
        loralab.compose(["data=files", "data.train_file=train.jsonl", "+data.generator.size=3"])
