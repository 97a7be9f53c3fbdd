"""A task of its own, registered in the tests the way a package would through its entry point."""

from loralab.data.sources import DataSource
from loralab.errors import Problem

TOOLS = [{"type": "function", "function": {"name": "ping", "description": "Ping a host",
                                           "parameters": {"type": "object", "properties": {"host": {"type": "string"}},
                                                          "required": ["host"]}}}]


def _row(i: int) -> dict:
    call = {"type": "function", "function": {"name": "ping", "arguments": {"host": f"h{i}"}}}
    return {"id": f"toy-{i}", "messages": [{"role": "user", "content": f"ping h{i}"},
                                           {"role": "assistant", "tool_calls": [call]}]}


def _load(data_cfg):
    return {"train": [_row(i) for i in range(8)], "validation": [_row(8)], "test": [_row(9)]}, TOOLS


def _problems(data_cfg):
    return [] if data_cfg.generator.size >= 100 else [Problem("data.generator.size", data_cfg.generator.size,
                                                              "the toy task wants at least 100")]


SOURCE = DataSource("toy", _load, _problems, {("ping", "host"): ("호스트", "server")})
