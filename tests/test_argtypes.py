"""ldstore.argtypes: the command-line value types the CLI and the fake's command share."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldstore.argtypes import (
    duration,
    http_url,
    non_empty,
    port,
    positive_count,
    positive_seconds,
    project_environment,
    seconds,
    whole,
)


def test_durations_take_units() -> None:
    """--for reads 90, 90s, 10m and 1.5h."""
    assert [duration(text) for text in ("90", "90s", "10m", "1.5h", ".5", "2M")] == [
        90.0, 90.0, 600.0, 5400.0, 0.5, 120.0,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "bad"),
    [
        (duration, ""), (duration, "-1"), (duration, "10 minutes"), (duration, "5d"),
        (duration, "inf"), (duration, "nan"), (duration, "1" * 400 + "h"),
        (seconds, "-0.1"), (seconds, "inf"), (seconds, "soon"),
        (positive_seconds, "0"), (positive_seconds, "nan"),
        (whole, "-1"), (whole, "1.0"), (whole, "\u0661"), (whole, "9" * 100),
        (positive_count, "0"), (positive_count, "x"),
        (port, "65536"), (port, "-1"),
        (non_empty, ""), (non_empty, " \t"),
        (project_environment, "default"), (project_environment, "/staging"),
        (project_environment, "default/"),
        (http_url, "127.0.0.1:5000"), (http_url, "ftp://host"), (http_url, "http://"),
        (http_url, "https:///path"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_with_what_was_expected(
    parse: Callable[[str], object], bad: str
) -> None:
    """Each type refuses nonsense with an ArgumentTypeError that says what it expected."""
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        _ = parse(bad)


@given(st.text(max_size=30))
def test_every_type_returns_or_refuses_never_crashes(text: str) -> None:
    """Whatever is typed: a value or an ArgumentTypeError, nothing else."""
    for parse in (
        duration,
        seconds,
        positive_seconds,
        whole,
        positive_count,
        port,
        non_empty,
        http_url,
    ):
        with contextlib.suppress(argparse.ArgumentTypeError):
            _ = parse(text)


def test_good_values_parse() -> None:
    """The values each type is for."""
    assert (seconds("0"), positive_seconds("2.5"), whole("007"), positive_count("3")) == (
        0.0, 2.5, 7, 3,
    )  # fmt: skip
    assert (port("0"), port("65535"), non_empty("x")) == (0, 65535, "x")
    assert project_environment("mobile/staging") == ("mobile", "staging")
    assert http_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
