"""Never run: a service's use of ldstore.otel keeps type-checking (hooks, combine, seams)."""

import time
from collections.abc import Awaitable
from typing import TypeVar

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from ldstore import Core, HookContext, Hooks
from ldstore.core import HookRequest, LimiterWait
from ldstore.otel import combine, configure_from_env, hooks

T = TypeVar("T")


async def timed(operation_id: str, request: HookRequest, answer: Awaitable[T], /) -> T:
    started = time.monotonic()
    try:
        return await answer
    finally:
        print(operation_id, request.method, time.monotonic() - started)  # noqa: T201


def held(context: HookContext, wait: LimiterWait) -> None:
    print(context.operation_id, wait.reason, wait.seconds, wait.admitted)  # noqa: T201


def build() -> list[Core]:
    mine = Hooks(around_call=timed, on_limiter_wait=held)
    traced = hooks(TracerProvider(), MeterProvider(), attempt_spans=False)
    from_environment = configure_from_env()
    return [
        Core("api-x", hooks=combine(traced, mine)),
        Core("api-x", hooks=from_environment or mine),
        Core("api-x", hooks=hooks()),
    ]
