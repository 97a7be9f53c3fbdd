"""loralab-eval's own arguments are checked before any run directory or model is opened."""

from __future__ import annotations

import pytest

from loralab.cli.evaluate import parse_args


@pytest.mark.parametrize("option", ["--max-examples", "--batch-size"])
@pytest.mark.parametrize("value,says", [("0", "must be >= 1, got 0"), ("ten", "must be a whole number, got 'ten'")])
def test_counts_below_one_or_not_numbers_are_refused_naming_the_option(option, value, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["some/run", option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert option in err and says in err


def test_a_positive_count_is_taken():
    args = parse_args(["some/run", "--max-examples", "250", "--batch-size", "16"])
    assert (args.max_examples, args.batch_size) == (250, 16)
