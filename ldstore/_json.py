"""Parsing response bodies: msgspec's C parser when the ``speed`` extra is installed, with
exactly the stdlib's outcomes (the same value, or the same error), else ``json.loads``.

Why msgspec and not orjson: on the inputs where parsers disagree, msgspec either agrees
with ``json.loads`` or refuses, and a refusal can be handed to ``json.loads`` to decide.
orjson turns integers beyond 64 bits into floats (a silent change of value nobody can
detect afterwards). Where msgspec refuses and the stdlib accepts: ``NaN``/``Infinity``
literals, numbers beyond a float's range (``1e400`` is ``inf`` to the stdlib), lone
surrogate escapes (``"\\ud800"``), surrogates encoded in UTF-8, a UTF-8 BOM, UTF-16/32
bodies. Where both refuse, the stdlib's exception is raised: invalid UTF-8, malformed
JSON, integers beyond ``sys.get_int_max_str_digits()``. Duplicate keys: the last wins in
both. Deep nesting: see ``_NESTING``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable

__all__ = ["ACCELERATOR", "loads", "loads_stdlib"]


def loads_stdlib(body: bytes) -> object:
    """``json.loads(body)``: the reference every accelerated parse must agree with."""
    return json.loads(body)


def _accelerated(decode: Callable[[bytes], object]) -> Callable[[bytes], object]:
    # _NESTING: both parsers give up on deep nesting through the interpreter's recursion
    # counter (Py_EnterRecursiveCall, once per array or object). Below loads_stdlib,
    # json.loads spends some of it before its first level, msgspec's decode method none;
    # calling msgspec with as much spent makes it refuse exactly the nesting the stdlib
    # refuses, so an accelerated parse never accepts a body the stdlib would not (a
    # refusal goes to json.loads, which decides). tests/test_json_accelerator.py
    # (test_nesting_limit_is_the_stdlibs) fails if this stops holding.
    nested_as_the_stdlib = (
        _after_one_c_call(decode) if sys.version_info >= (3, 12) else _four_frames_down(decode)
    )

    def loads(body: bytes) -> object:
        try:
            return nested_as_the_stdlib(body)
        except Exception:  # noqa: BLE001 (whatever msgspec refuses, the stdlib decides)
            return json.loads(body)

    return loads


def _after_one_c_call(decode: Callable[[bytes], object]) -> Callable[[bytes], object]:
    # CPython 3.12+ counts C recursion apart from Python frames: json.loads spends one
    # level on the call of its C scanner object, and so does a call through a partial.
    return functools.partial(decode)


def _four_frames_down(decode: Callable[[bytes], object]) -> Callable[[bytes], object]:
    # CPython up to 3.11 spends the same counter on Python frames and on calls through
    # tp_call: json.loads spends four (json.loads, JSONDecoder.decode and raw_decode
    # frames, then the call of its C scanner object), so msgspec is called four frames down.
    def _frame4(body: bytes) -> object:
        return decode(body)

    def _frame3(body: bytes) -> object:
        return _frame4(body)

    def _frame2(body: bytes) -> object:
        return _frame3(body)

    def _frame1(body: bytes) -> object:
        return _frame2(body)

    return _frame1


def _select() -> tuple[Callable[[bytes], object], str | None]:
    try:
        import msgspec  # noqa: PLC0415 (optional: the speed extra)
    except ImportError:
        return loads_stdlib, None
    return _accelerated(msgspec.json.Decoder().decode), f"msgspec {msgspec.__version__}"


loads, ACCELERATOR = _select()
"""``loads(body)``: the parsed JSON, or the exception ``json.loads`` raises for it;
``ACCELERATOR`` names the C parser in use (``None``: the stdlib alone)."""
