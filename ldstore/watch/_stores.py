"""The stores file: which store each integration writes, and how to read it (TOML).

One ``[[store]]`` table per store; an integration is named by project, environment, kind
and its ``name`` or ``id``. Secrets travel only by environment-variable name
(``password_env``): a ``password`` key, or a password inside ``url``, is refused without
its value ever being repeated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

import attrs

from ldstore.doctor import url_has_password
from ldstore.errors import InputValidationError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.result import Err, Ok, Result
from ldstore.tomlfile import toml_loads

__all__ = [
    "DynamoDBStore",
    "RedisStore",
    "Store",
    "StoresFile",
    "load_stores",
]

_KINDS = ("redis", "dynamodb")
_COMMON = ("project", "environment", "kind", "name", "id", "prefix")
_KEYS = {
    "redis": (*_COMMON, "url", "password_env"),
    "dynamodb": (*_COMMON, "table", "region", "endpoint_url"),
}
_REQUIRED = {"redis": ("url",), "dynamodb": ("table",)}
_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"\s*\[\[\s*(\"store\"|'store'|store)\s*\]\]")
_TABLE = re.compile(r"\s*\[")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")
MAX_BYTES = 1 << 20  # a stores file larger than 1 MiB is a mistake, not a config


@attrs.frozen(kw_only=True)
class _Entry:
    project: str
    environment: str
    name: str | None = None
    id: str | None = None
    prefix: str | None = None
    line: int = 0  # where its [[store]] table starts in the file (from 1; 0: not from a file)
    kind: ClassVar[str]  # "redis" or "dynamodb": the integration key it matches

    def matches(self, integration: BigSegmentStoreIntegration) -> bool:
        """Whether this entry names ``integration`` (by ID when given, else by name)."""
        return (
            integration.project_key == self.project
            and integration.environment_key == self.environment
            and str(integration.integration_key) == self.kind
            and (
                integration.id == self.id if self.id is not None else integration.name == self.name
            )
        )

    @property
    def label(self) -> str:
        """``project/environment/kind/<id or name>``, to name the entry in messages."""
        which = self.id if self.id is not None else repr(self.name)
        return f"{self.project}/{self.environment}/{self.kind}/{which}"


@attrs.frozen(kw_only=True)
class RedisStore(_Entry):
    """A Redis store: ``url`` without a password; the password, if any, in ``password_env``."""

    kind: ClassVar[str] = "redis"
    url: str
    password_env: str | None = None

    def password(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The password from ``password_env`` (``None`` when none is named, or it is unset)."""
        if self.password_env is None:
            return None
        return (os.environ if environ is None else environ).get(self.password_env)

    def connection_url(self, environ: Mapping[str, str] | None = None) -> str:
        """``url`` with the password from ``password_env`` in it (percent-encoded), to connect."""
        password = self.password(environ)
        if not password:
            return self.url
        parts = urlsplit(self.url)
        if parts.scheme == "unix":  # no host to carry user info: a query parameter
            base, hash_, fragment = self.url.partition("#")
            joiner = "&" if parts.query else "?"
            return f"{base}{joiner}password={quote(password, safe='')}{hash_}{fragment}"
        user, _, host = parts.netloc.rpartition("@")  # the user as written (no password: refused)
        netloc = f"{user}:{quote(password, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))


@attrs.frozen(kw_only=True)
class DynamoDBStore(_Entry):
    """A DynamoDB store: its table, and optionally region and endpoint (credentials: AWS's chain)."""

    kind: ClassVar[str] = "dynamodb"
    table: str
    region: str | None = None
    endpoint_url: str | None = None


Store = RedisStore | DynamoDBStore


@attrs.frozen
class StoresFile:
    """The stores of one stores file, in file order; ``path`` as given."""

    path: str
    stores: tuple[Store, ...]

    def store_for(self, integration: BigSegmentStoreIntegration) -> Store | None:
        """The first entry that names ``integration``, or ``None``."""
        return next((store for store in self.stores if store.matches(integration)), None)

    def check_environment(
        self, environ: Mapping[str, str] | None = None
    ) -> Result[StoresFile, InputValidationError]:
        """``Ok(self)`` when every ``password_env`` is set; else the first unset one, by line."""
        values = os.environ if environ is None else environ
        for index, store in enumerate(self.stores):
            if not isinstance(store, RedisStore) or store.password_env is None:
                continue
            if not values.get(store.password_env):
                message = (
                    f"{self.path}:{store.line}: store[{index}]: the environment variable "
                    f"{store.password_env} (its password_env) is not set"
                )
                field = f"store[{index}].password_env"
                return Err(InputValidationError(message=message, field=field))
        return Ok(self)


def load_stores(
    path: str | os.PathLike[str],
) -> Result[StoresFile, InputValidationError]:
    """Read a stores file (TOML)::

        [[store]]
        project = "default"
        environment = "production"
        kind = "redis"                      # or "dynamodb"
        name = "Production Redis"           # or: id = "<integration id>"
        url = "redis://watcher@redis.internal:6379/0"
        password_env = "REDIS_PASSWORD"     # secrets only by environment variable name
        prefix = "..."                      # optional; default: the environment's client-side ID

        [[store]]
        project = "default"
        environment = "production"
        kind = "dynamodb"
        id = "<integration id>"
        table = "ld-big-segments"
        region = "us-east-1"                     # optional: the AWS configuration's
        endpoint_url = "http://127.0.0.1:8000"   # optional

    ``Ok(StoresFile)``. ``Err(InputValidationError)`` whose message is one line,
    ``FILE:LINE: problem`` (``field`` names the key, ``store[0].url``): the file cannot
    be read or is not TOML, a key is unknown, missing or of the wrong type, an entry
    repeats another, or a password is written in the file (a ``password`` key, or one
    in ``url``), which is refused without repeating it. Environment variables are not
    read here (see ``StoresFile.check_environment``). On Python 3.10, TOML needs ``tomli``.
    """
    file = str(path)
    text = _read(file)
    if isinstance(text, Err):
        return text
    lines = _Lines(text.value)
    items = _tables(file, text.value, lines)
    if isinstance(items, Err):
        return items
    stores: list[Store] = []
    seen: dict[tuple[str, str, str, str | None, str | None], int] = {}
    for index, item in enumerate(items.value):
        start, end = lines.span(index)
        store = _entry(item, f"store[{index}]")
        if isinstance(store, Err):
            problem, key = store.error
            line = lines.key_line(key.rsplit(".", 1)[-1], start, end) if key else start
            return _refuse(file, line, f"store[{index}]: {problem}", key)
        entry = attrs.evolve(store.value, line=start)
        identity = (entry.project, entry.environment, entry.kind, entry.name, entry.id)
        first = seen.setdefault(identity, index)
        if first != index:
            problem = f"store[{index}] names the same integration as store[{first}] ({entry.label})"
            return _refuse(file, start, problem, f"store[{index}]")
        stores.append(entry)
    return Ok(StoresFile(file, tuple(stores)))


def _tables(  # noqa: PLR0911 - one return per refusal
    file: str, text: str, lines: _Lines
) -> Result[list[dict[str, Any]], InputValidationError]:
    """The ``[[store]]`` tables of the document, or why the document has none to offer."""
    loads = toml_loads()
    if loads is None:
        return _refuse(file, 0, "reading TOML on Python 3.10 needs tomli (pip install tomli)", None)
    try:
        document = cast("dict[str, Any]", loads(text))
    except ValueError as error:  # tomllib.TOMLDecodeError: a fixed text and where, no values
        message = str(error)
        found = _AT_LINE.search(message)
        line = int(found.group(1)) if found else 0
        return _refuse(file, line, f"not valid TOML: {_AT_LINE.sub('', message)}", None)
    except RecursionError:
        return _refuse(file, 0, "nests too deeply to be a stores file", None)
    for key in document:
        if key != "store":
            where = lines.key_line(key, 1, len(lines.text) + 1)
            problem = f"unknown table or key {_shorten(key)!r} (expected [[store]] tables)"
            return _refuse(file, where, problem, key)
    raw: object = document.get("store")
    if not isinstance(raw, list) or not raw:
        return _refuse(file, 1, "expected one or more [[store]] tables", "store")
    items = cast("list[object]", raw)
    if not all(isinstance(item, dict) for item in items):
        return _refuse(file, 1, "store must be [[store]] tables", "store")
    return Ok(cast("list[dict[str, Any]]", items))


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


def _refuse(file: str, line: int, problem: str, field: str | None) -> Err[InputValidationError]:
    where = f"{file}:{line}" if line else file
    # One line whatever the TOML parser or a key said: no value can forge a second one.
    text = " ".join(f"{where}: {problem}".split())
    return Err(InputValidationError(message=text, field=field))


def _read(file: str) -> Result[str, InputValidationError]:
    try:
        with Path(file).open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        return _refuse(
            file, 0, f"cannot read it ({error.strerror or type(error).__name__})", "path"
        )
    if len(data) > MAX_BYTES:
        return _refuse(file, 0, f"larger than {MAX_BYTES} bytes: not a stores file", "path")
    try:
        return Ok(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _refuse(file, 0, "not UTF-8 text", "path")


_Problem = tuple[str, str | None]  # what is wrong, and the key (store[0].url) or None


def _entry(  # noqa: PLR0911 - one check per rule, each with its own message
    item: Mapping[str, Any], where: str
) -> Result[Store, _Problem]:
    """The entry ``item`` describes, or what is wrong with it and the key to blame."""
    if "password" in item:
        problem = (
            "an inline password is refused (its value is not shown): remove the password "
            "key and name an environment variable that holds it in password_env"
        )
        return Err((problem, f"{where}.password"))
    kind = item.get("kind")
    if kind not in _KINDS:
        shown = (
            "missing"
            if kind is None
            else repr(_shorten(kind))
            if isinstance(kind, str)
            else f"a {type(kind).__name__}"
        )
        return Err(
            (
                f'kind must be "redis" or "dynamodb", not {shown}',
                f"{where}.kind" if "kind" in item else None,
            )
        )
    kind = cast("str", kind)
    known = _KEYS[kind]
    for key in item:
        if key not in known:
            shown_key = _shorten(key)
            return Err(
                (
                    f"unknown key {shown_key!r} for a {kind} store (known: {', '.join(known)})",
                    f"{where}.{key}",
                )
            )
    for key in ("project", "environment", *_REQUIRED[kind]):
        if key not in item:
            return Err((f"{key} is required", None))
    for key, value in item.items():
        if not isinstance(value, str) or not value.strip():
            return Err((f"{key} must be a non-empty string", f"{where}.{key}"))
    if ("name" in item) == ("id" in item):
        return Err(("give exactly one of name and id to name the integration", None))
    fields = cast("dict[str, str]", dict(item))
    return _redis(fields, where) if kind == "redis" else _dynamodb(fields, where)


def _redis(fields: Mapping[str, str], where: str) -> Result[Store, _Problem]:
    wrong = _url_problem(fields["url"])
    if wrong is not None:
        return Err((wrong, f"{where}.url"))
    env = fields.get("password_env")
    if env is not None and not _ENV_NAME.fullmatch(env):
        wrong = "password_env must be an environment variable's name (letters, digits, _)"
        return Err((wrong, f"{where}.password_env"))
    return Ok(RedisStore(**_common(fields), url=fields["url"], password_env=env))


def _dynamodb(fields: Mapping[str, str], where: str) -> Result[Store, _Problem]:
    endpoint = fields.get("endpoint_url")
    wrong = None if endpoint is None else _endpoint_problem(endpoint)
    if wrong is not None:
        return Err((wrong, f"{where}.endpoint_url"))
    return Ok(
        DynamoDBStore(
            **_common(fields),
            table=fields["table"],
            region=fields.get("region"),
            endpoint_url=endpoint,
        )
    )


def _common(fields: Mapping[str, str]) -> dict[str, Any]:
    return {key: fields.get(key) for key in ("name", "id", "prefix")} | {
        "project": fields["project"],
        "environment": fields["environment"],
    }


def _url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Redis URL without a password in it, or ``None``."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "url is not a valid URL (redis://[USER@]HOST:PORT/DB, rediss://, unix:///PATH)"
    if url_has_password(parts):
        return (
            "url holds a password, which is refused (its value is not shown): leave it out "
            "of url and name an environment variable that holds it in password_env"
        )
    if parts.scheme not in _REDIS_SCHEMES:
        return "url must start with redis://, rediss:// or unix://"
    if parts.scheme != "unix" and not parts.hostname:
        return "url has no host"
    return None


def _endpoint_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "endpoint_url is not a valid URL"
    if parts.password is not None:
        return "endpoint_url holds a password, which is refused (its value is not shown)"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "endpoint_url must be an http(s) URL with a host"
    return None


class _Lines:
    """Where things are in the file's text, for messages: the tables and their keys' lines."""

    def __init__(self, text: str) -> None:
        self.text = text.splitlines()
        self.headers = [number for number, line in enumerate(self.text, 1) if _HEADER.match(line)]

    def span(self, index: int) -> tuple[int, int]:
        """The lines of the ``index``-th ``[[store]]`` table: its header, and the next table's."""
        if index >= len(self.headers):
            return 1, len(self.text) + 1
        start = self.headers[index]
        end = next(
            (
                number
                for number in range(start + 1, len(self.text) + 1)
                if _TABLE.match(self.text[number - 1])
            ),
            len(self.text) + 1,
        )
        return start, end

    def key_line(self, key: str, start: int, end: int) -> int:
        """The line in ``[start, end)`` that sets ``key`` (bare or quoted), else ``start``."""
        pattern = re.compile(
            rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]"
        )
        for number in range(start, min(end, len(self.text) + 1)):
            if pattern.match(self.text[number - 1]):
                return number
        return start
