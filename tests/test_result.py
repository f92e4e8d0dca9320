import asyncio

import pytest

from ldstore import Err, Ok, Result, collect
from ldstore.errors import LDStoreError, NotFoundError
from ldstore.result import UnwrapError, chain_async


def _not_found() -> NotFoundError:
    return NotFoundError(message="no such integration", status_code=404)


def test_ok_and_err_work_with_match() -> None:
    """`case Ok(value)` and `case Err(NotFoundError())` destructure a Result."""
    results: list[Result[int, LDStoreError]] = [Ok(3), Err(_not_found())]
    seen: list[str] = []

    for result in results:
        match result:
            case Ok(value):
                seen.append(f"ok {value}")
            case Err(NotFoundError(status_code=status)):
                seen.append(f"not found {status}")
            case Err(error):
                seen.append(f"other {error}")

    assert seen == ["ok 3", "not found 404"]


def test_accessors_narrow_and_default() -> None:
    """`.ok`, `.value`, `.error`, `unwrap_or` tell the two apart without raising."""
    ok: Result[int, LDStoreError] = Ok(1)
    err: Result[int, LDStoreError] = Err(_not_found())

    assert ok.ok is True
    assert ok.value == 1
    assert ok.error is None
    assert err.ok is False
    assert err.value is None
    assert isinstance(err.error, NotFoundError)
    assert ok.unwrap_or(7) == 1
    assert err.unwrap_or(7) == 7


def test_err_unwrap_raises_the_error_itself() -> None:
    """`Err.unwrap()` raises the LDStoreError, so `except NotFoundError` works."""
    error = _not_found()

    with pytest.raises(NotFoundError) as raised:
        Err(error).unwrap()

    assert raised.value is error
    assert Ok("x").unwrap() == "x"


def test_unwrap_of_a_non_exception_error_wraps_it() -> None:
    """An Err holding a plain value raises UnwrapError carrying it."""
    with pytest.raises(UnwrapError, match="boom"):
        Err("boom").unwrap()


def test_map_and_map_err_touch_only_their_side() -> None:
    """`map` changes an Ok's value, `map_err` an Err's error; each leaves the other alone."""
    err = Err(_not_found())

    assert Ok(2).map(lambda v: v * 10) == Ok(20)
    assert Ok(2).map_err(lambda e: e) == Ok(2)
    assert err.map(lambda v: v) is err
    assert err.map_err(lambda e: e.status_code).error == 404


def test_and_then_chains_steps_and_stops_at_the_first_err() -> None:
    """`and_then` feeds an Ok's value to the next step; an Err skips it."""

    def half(value: int) -> Result[int, str]:
        return Ok(value // 2) if value % 2 == 0 else Err(f"{value} is odd")

    assert Ok(8).and_then(half).and_then(half) == Ok(2)
    assert Ok(6).and_then(half).and_then(half) == Err("3 is odd")
    assert Err("first").and_then(half) == Err("first")


async def test_async_steps_chain_awaitables() -> None:
    """`and_then_async` (method) and `chain_async` chain awaitable steps; an Err passes through."""

    async def double(value: int) -> Result[int, str]:
        await asyncio.sleep(0)
        return Ok(value * 2)

    async def start(value: Result[int, str]) -> Result[int, str]:
        await asyncio.sleep(0)
        return value

    assert await Ok(2).and_then_async(double) == Ok(4)
    assert await Err("no").and_then_async(double) == Err("no")
    assert await chain_async(start(Ok(5)), double) == Ok(10)
    assert await chain_async(start(Err("early")), double) == Err("early")


async def test_collect_gathers_values_or_the_first_err() -> None:
    """`collect` turns many Results into one: every value in order, or the first Err."""

    async def fetch(n: int) -> Result[int, str]:
        await asyncio.sleep(0)
        return Ok(n)

    many = await asyncio.gather(*(fetch(n) for n in range(3)))

    assert collect(many) == Ok([0, 1, 2])
    mixed: list[Result[int, str]] = [Ok(1), Err("a"), Err("b")]
    assert collect(mixed) == Err("a")
    assert collect([]) == Ok([])
