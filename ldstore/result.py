"""Ok and Err: the outcome of every ldstore operation, usable with ``match``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Generic, Literal, NoReturn, TypeAlias, TypeVar

import attrs

T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
T = TypeVar("T")
E = TypeVar("E")
U = TypeVar("U")
F = TypeVar("F")

__all__ = ["Err", "Ok", "Result", "chain_async", "collect"]


@attrs.frozen
class Ok(Generic[T_co]):
    """A success carrying its value: ``case Ok(value):``."""

    value: T_co
    ok: ClassVar[Literal[True]] = True
    error: ClassVar[None] = None

    def unwrap(self) -> T_co:
        return self.value

    def unwrap_or(self, default: object) -> T_co:  # the default is unused on Ok
        return self.value

    def map(self, fn: Callable[[T_co], U]) -> Ok[U]:
        return Ok(fn(self.value))

    def map_err(self, fn: Callable[[Any], object]) -> Ok[T_co]:
        return self

    def and_then(self, fn: Callable[[T_co], Result[U, F]]) -> Result[U, F]:
        return fn(self.value)

    async def and_then_async(self, fn: Callable[[T_co], Awaitable[Result[U, F]]]) -> Result[U, F]:
        return await fn(self.value)


@attrs.frozen
class Err(Generic[E_co]):
    """A failure carrying its error value: ``case Err(NotFoundError()):``."""

    error: E_co
    ok: ClassVar[Literal[False]] = False
    value: ClassVar[None] = None

    def unwrap(self) -> NoReturn:
        if isinstance(self.error, BaseException):
            raise self.error  # the real exception, not a wrapper
        raise UnwrapError(self.error)

    def unwrap_or(self, default: U) -> U:
        return default

    # Err ignores the function; Any lets one call type-check on a whole Result union,
    # whose Ok side decides the function's type.
    def map(self, fn: Callable[[Any], object]) -> Err[E_co]:
        return self

    def map_err(self, fn: Callable[[E_co], F]) -> Err[F]:
        return Err(fn(self.error))

    def and_then(self, fn: Callable[[Any], object]) -> Err[E_co]:
        return self

    async def and_then_async(self, fn: Callable[[Any], object]) -> Err[E_co]:
        return self


class UnwrapError(Exception):
    """Raised by ``Err.unwrap()`` when the error value is not an exception itself."""


Result: TypeAlias = Ok[T] | Err[E]


def collect(results: Iterable[Result[T, E]]) -> Result[list[T], E]:
    """``Ok`` with every value in order, or the first ``Err``.

    >>> collect([Ok(1), Ok(2)])
    Ok(value=[1, 2])
    """
    values: list[T] = []
    for result in results:
        if isinstance(result, Err):
            return result
        values.append(result.value)
    return Ok(values)


async def chain_async(
    pending: Awaitable[Result[T, E]], fn: Callable[[T], Awaitable[Result[U, E]]]
) -> Result[U, E]:
    """Await a Result, then chain an awaitable step on its value; an ``Err`` passes through.

    The method ``Result.and_then_async`` does the same on a Result already awaited.

    >>> await chain_async(get_big_segment_store_integration(core, req), check_synced)
    """
    result = await pending
    if isinstance(result, Err):
        return result
    return await fn(result.value)
