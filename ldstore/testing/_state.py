"""The fake's data: projects, environments and integrations as wire JSON, and the API's rules."""

from __future__ import annotations

import copy
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import attrs
import jsonpatch

from ldstore.testing._config import (
    INTEGRATION_KEYS,
    check_config,
    masked,
    reaches_secret,
    secret_paths,
)
from ldstore.testing._routes import (
    BASE_PATH,
    environment_path,
    integration_path,
    project_path,
)
from ldstore.testing._wire import JSON_TYPE, Problem, invalid, not_found, parse_json

# Once available, a store keeps syncing; the reference page calls it available while
# "the last sync was within a few minutes", so lastSync moves on every minute.
RESYNC_INTERVAL = 60.0

_EDITABLE = frozenset({"name", "on", "tags", "config"})
_OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


@attrs.define
class _Integration:
    """One stored integration; `doc` holds its identity and editable fields as wire JSON."""

    doc: dict[str, Any]
    on_since: float | None = None
    pinned_status: dict[str, Any] | None = None

    @property
    def scope(self) -> tuple[str, str, str]:
        return (self.doc["projectKey"], self.doc["environmentKey"], self.doc["integrationKey"])

    def switch(self, *, on: bool, now: float) -> None:
        """Start the sync clock when switched on; switching off resets it."""
        if not on:
            self.on_since = None
        elif self.on_since is None:
            self.on_since = now


def _millis(seconds: float) -> int:
    return math.floor(seconds * 1000)


def _link(href: str) -> dict[str, str]:
    return {"href": href, "type": JSON_TYPE}


class Store:
    """Integrations by ID, with the checks each operation makes (errors raise `Problem`)."""

    def __init__(
        self,
        environments: Mapping[str, Sequence[str]],
        *,
        sync_delay: float,
        list_includes_config: bool,
    ) -> None:
        self._environments = {project: list(envs) for project, envs in environments.items()}
        self._sync_delay = sync_delay
        self._list_includes_config = list_includes_config
        self._items: dict[str, _Integration] = {}
        self.sync_status: Callable[[str, bool], dict[str, Any]] | None = None
        """When the fake syncs real stores: `_status` from what happened (id, on)."""

    # Setup and inspection, for tests.

    @property
    def environments(self) -> dict[str, list[str]]:
        """Known projects and their environments."""
        return copy.deepcopy(self._environments)

    def add_environment(self, project_key: str, environment_key: str) -> None:
        """Make a project (if new) and an environment in it known."""
        envs = self._environments.setdefault(project_key, [])
        if environment_key not in envs:
            envs.append(environment_key)

    def reset(self) -> None:
        """Forget every integration (and with them every pinned status)."""
        self._items.clear()

    def seed(  # noqa: PLR0913 - the fields of an integration
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        *,
        name: str,
        config: Mapping[str, Any],
        on: bool,
        tags: Iterable[str],
        version: int,
    ) -> dict[str, Any]:
        """Store an integration as given, without the API's checks, and return it unmasked."""
        self.add_environment(project_key, environment_key)
        item = self._insert(
            project_key,
            environment_key,
            integration_key,
            {"config": dict(config), "on": on, "tags": list(tags), "name": name},
        )
        item.doc["version"] = version
        return self._render(item, secrets_shown=True)

    def stored(self) -> list[dict[str, Any]]:
        """Every integration, unmasked, in creation order."""
        return [self._render(i, secrets_shown=True) for i in self._items.values()]

    def stored_one(self, integration_id: str) -> dict[str, Any] | None:
        """One integration, unmasked, or None."""
        item = self._items.get(integration_id)
        return None if item is None else self._render(item, secrets_shown=True)

    def pin_status(self, integration_id: str, changes: Mapping[str, Any]) -> None:
        """Freeze the status at its current value with `changes` applied (wire names)."""
        item = self._items.get(integration_id)
        if item is None:
            raise KeyError(integration_id)
        item.pinned_status = {**self._status(item), **copy.deepcopy(dict(changes))}

    # The five operations.

    def list_integrations(self) -> dict[str, Any]:
        """The collection: summaries, which leave `config` out (reference page)."""
        with_config = self._list_includes_config
        items = [self._render(i, with_config=with_config) for i in self._items.values()]
        return {"_links": {"self": _link(BASE_PATH)}, "items": items}

    def create(
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        *,
        body: bytes,
        content_type: str,
    ) -> dict[str, Any]:
        """Validate an IntegrationDeliveryConfigurationPost and store it."""
        self._check_scope(project_key, environment_key, integration_key)
        post = parse_json(body, content_type)
        if not isinstance(post, dict):
            message = "request body must be a JSON object"
            raise invalid(message)
        post = cast("dict[str, Any]", post)
        # The API ignores request fields outside the endpoint's schema (reference page,
        # "General request behaviour"); unknown *config* keys are still refused below.
        given = {key: value for key, value in post.items() if key in _EDITABLE}
        if "config" not in given:
            message = "config is required"
            raise invalid(message)
        fields: dict[str, Any] = {"on": False, "tags": [], "name": "", **given}
        _check_fields(integration_key, fields)
        self._check_unique_name(project_key, environment_key, integration_key, fields["name"])
        item = self._insert(project_key, environment_key, integration_key, fields)
        return self._render(item)

    def get(
        self, project_key: str, environment_key: str, integration_key: str, integration_id: str
    ) -> dict[str, Any]:
        """The detailed representation, secrets masked."""
        item = self._find(project_key, environment_key, integration_key, integration_id)
        return self._render(item)

    def patch(  # noqa: PLR0913 - four path parameters and a body
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        integration_id: str,
        *,
        body: bytes,
        content_type: str,
    ) -> dict[str, Any]:
        """Apply a JSON Patch (bare, or in the comment envelope) to the editable fields."""
        item = self._find(project_key, environment_key, integration_key, integration_id)
        operations = _json_patch(parse_json(body, content_type), integration_key)
        patched = _apply(operations, self._render(item, secrets_shown=True))
        fields: dict[str, Any] = {key: patched.get(key) for key in _EDITABLE}
        _check_fields(integration_key, fields)
        self._check_unique_name(
            project_key, environment_key, integration_key, fields["name"], integration_id
        )
        item.doc.update(fields)
        item.doc["version"] += 1
        item.switch(on=fields["on"], now=time.time())
        return self._render(item)

    def delete(
        self, project_key: str, environment_key: str, integration_key: str, integration_id: str
    ) -> None:
        """Remove an integration."""
        item = self._find(project_key, environment_key, integration_key, integration_id)
        del self._items[item.doc["_id"]]

    # Helpers.

    def _check_scope(self, project_key: str, environment_key: str, integration_key: str) -> None:
        self.check_environment(project_key, environment_key)
        if integration_key not in INTEGRATION_KEYS:
            message = f"unknown integration key {integration_key!r} (redis or dynamodb)"
            raise not_found(message)

    def check_environment(self, project_key: str, environment_key: str) -> None:
        """Raise a 404 for a project or environment the fake does not know."""
        # The fake's own limits, said where a user meets them (the real API only says 404).
        if project_key not in self._environments:
            known = ", ".join(self._environments) or "none"
            message = (
                f"unknown project {project_key!r} (this fake knows: {known}; add one with "
                f"--environment {project_key}/ENV or fake.add_environment())"
            )
            raise not_found(message)
        if environment_key not in self._environments[project_key]:
            known = ", ".join(self._environments[project_key]) or "none"
            message = (
                f"unknown environment {environment_key!r} in project {project_key!r} (this "
                f"fake knows: {known}; add one with --environment {project_key}/"
                f"{environment_key} or fake.add_environment())"
            )
            raise not_found(message)

    def _find(
        self, project_key: str, environment_key: str, integration_key: str, integration_id: str
    ) -> _Integration:
        self._check_scope(project_key, environment_key, integration_key)
        item = self._items.get(integration_id)
        if item is None or item.scope != (project_key, environment_key, integration_key):
            message = f"no {integration_key} integration {integration_id!r} in {project_key}/{environment_key}"
            raise not_found(message)
        return item

    def _check_unique_name(
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        name: str,
        integration_id: str | None = None,
    ) -> None:
        if not name:
            return
        scope = (project_key, environment_key, integration_key)
        for other_id, other in self._items.items():
            if other_id != integration_id and other.scope == scope and other.doc["name"] == name:
                message = f"an integration named {name!r} already exists in {project_key}/{environment_key} for {integration_key}"
                raise Problem(409, "conflict", message)

    def _insert(
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        fields: Mapping[str, Any],
    ) -> _Integration:
        integration_id = secrets.token_hex(12)
        while integration_id in self._items:  # pragma: no cover - 96 random bits
            integration_id = secrets.token_hex(12)
        doc: dict[str, Any] = {
            "_id": integration_id,
            "integrationKey": integration_key,
            "projectKey": project_key,
            "environmentKey": environment_key,
            **copy.deepcopy(dict(fields)),
            "version": 1,
        }
        item = _Integration(doc)
        item.switch(on=bool(doc["on"]), now=time.time())
        self._items[integration_id] = item
        return item

    def _status(self, item: _Integration) -> dict[str, Any]:
        if item.pinned_status is not None:
            return copy.deepcopy(item.pinned_status)
        if self.sync_status is not None:
            return self.sync_status(item.doc["_id"], bool(item.doc["on"]))
        if item.on_since is not None:
            first_sync = item.on_since + self._sync_delay
            now = time.time()
            if now >= first_sync:
                syncs = math.floor((now - first_sync) / RESYNC_INTERVAL)
                last_sync = first_sync + syncs * RESYNC_INTERVAL
                return {
                    "available": True,
                    "potentiallyStale": False,
                    "lastSync": _millis(last_sync),
                }
        return {"available": False, "potentiallyStale": False}

    def _render(
        self, item: _Integration, *, secrets_shown: bool = False, with_config: bool = True
    ) -> dict[str, Any]:
        doc = item.doc
        project_key, environment_key, integration_key = item.scope
        self_path = integration_path(project_key, environment_key, integration_key, doc["_id"])
        shown: dict[str, Any] = {
            "_links": {
                "self": _link(self_path),
                "parent": _link(BASE_PATH),
                "project": _link(project_path(project_key)),
                "environment": _link(environment_path(project_key, environment_key)),
            },
            "_id": doc["_id"],
            "integrationKey": integration_key,
            "projectKey": project_key,
            "environmentKey": environment_key,
        }
        if with_config:
            config = doc["config"]
            shown["config"] = (
                copy.deepcopy(config) if secrets_shown else masked(integration_key, config)
            )
        shown["on"] = doc["on"]
        shown["tags"] = list(doc["tags"])
        shown["name"] = doc["name"]
        shown["version"] = doc["version"]
        shown["_access"] = {"denied": [], "allowed": []}
        shown["_status"] = self._status(item)
        return shown


def _check_fields(integration_key: str, fields: Mapping[str, Any]) -> None:
    """The editable fields, as created or as a patch left them."""
    if not isinstance(fields["name"], str):
        message = "name must be a string"
        raise invalid(message)
    if not isinstance(fields["on"], bool):
        message = "on must be a boolean"
        raise invalid(message)
    tags: object = fields["tags"]
    if not isinstance(tags, list) or not all(
        isinstance(tag, str) for tag in cast("list[object]", tags)
    ):
        message = "tags must be an array of strings"
        raise invalid(message)
    check_config(integration_key, fields["config"])


def _json_patch(body: object, integration_key: str) -> list[dict[str, Any]]:
    """A JSON Patch array, or the envelope {"comment": ..., "patch": [...]} (reference page)."""
    operations: object = body
    if isinstance(body, dict):
        body = cast("dict[str, Any]", body)
        if "patch" not in body:
            message = 'expected a JSON Patch array or {"comment": "...", "patch": [...]}'
            raise invalid(message)
        for key in body:
            if key not in ("comment", "patch"):
                message = f"{key} is not a field of a patch with a comment"
                raise invalid(message)
        if not isinstance(body.get("comment", ""), str):
            message = "comment must be a string"
            raise invalid(message)
        operations = body["patch"]
    if not isinstance(operations, list):
        message = "a JSON Patch must be an array of operations"
        raise invalid(message)
    secrets = secret_paths(integration_key)
    return [
        _check_operation(index, operation, secrets)
        for index, operation in enumerate(cast("list[object]", operations))
    ]


def _check_operation(
    index: int, operation: object, secrets: Sequence[tuple[str, ...]]
) -> dict[str, Any]:
    """One RFC 6902 operation, checked before anything is applied (errors name its index)."""
    where = f"invalid JSON Patch: operation {index}"
    if not isinstance(operation, dict):
        message = f"{where} must be an object"
        raise invalid(message)
    operation = cast("dict[str, Any]", operation)
    kind = operation.get("op")
    if kind not in _OPERATIONS:
        message = f"{where}: op must be one of {', '.join(_OPERATIONS)}"
        raise invalid(message)
    pointers = {"path": _pointer(where, operation, "path")}
    if kind in ("add", "replace", "test") and "value" not in operation:
        message = f"{where}: {kind} needs a value"
        raise invalid(message)
    if kind in ("move", "copy"):
        pointers["from"] = _pointer(where, operation, "from")
    if kind in ("test", "move", "copy"):
        # Reading a secret through test (an oracle: 200 or 409), copy or move (into a
        # visible field) would reveal it; writing it with replace or remove is fine.
        for member, parts in pointers.items():
            if reaches_secret(parts, secrets):
                message = (
                    f"{where}: {member} {operation[member]!r} reaches a secret "
                    f"({', '.join('/' + '/'.join(s) for s in secrets)}); test, copy and move "
                    "may not read or write secrets, use replace or remove"
                )
                raise invalid(message)
    if kind != "test":
        _check_editable(where, operation["path"], pointers["path"], "path")
        source = operation.get("from")
        # A move takes its source away; a copy may read any field but the read-only ones.
        if isinstance(source, str) and (kind == "move" or source.startswith("/_")):
            _check_editable(where, source, pointers["from"], "from")
    return operation


def _pointer(where: str, operation: Mapping[str, Any], member: str) -> tuple[str, ...]:
    pointer = operation.get(member)
    if not isinstance(pointer, str):
        message = f"{where}: {operation['op']} needs a string {member!r} (a JSON Pointer)"
        raise invalid(message)
    try:
        return tuple(jsonpatch.JsonPointer(pointer).parts)
    except jsonpatch.JsonPointerException as exc:
        message = f"{where}: {member} {pointer!r} is not a JSON Pointer ({exc})"
        raise invalid(message) from exc


def _check_editable(where: str, pointer: str, parts: tuple[str, ...], member: str) -> None:
    field = parts[0] if parts else ""
    if field in _EDITABLE:
        return
    if field.startswith("_"):
        message = f"{where}: {member} {pointer!r}: fields starting with '_' are read-only"
    else:
        message = f"{where}: {member} {pointer!r} is not editable (only /name, /on, /tags and /config are)"
    raise invalid(message)


def _apply(operations: Sequence[dict[str, Any]], document: dict[str, Any]) -> dict[str, Any]:
    """Apply checked operations in order to `document` (changed in place).

    Errors are the fake's own words: jsonpatch's messages quote the document they walked,
    secrets included, and name Python types.
    """
    for index, operation in enumerate(operations):
        path: str = operation["path"]
        if operation["op"] == "test":
            if not _test(document, path, operation["value"]):
                message = f"test operation {index} on {path!r} failed: the value differs"
                raise Problem(409, "optimistic_locking_error", message)
            continue
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except jsonpatch.JsonPatchConflict as exc:
            message = (
                f"patch cannot be applied: operation {index} ({operation['op']} {path!r}) "
                "conflicts with the integration (an index outside a list, or a move into itself)"
            )
            raise invalid(message) from exc
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            LookupError,
            TypeError,
            ValueError,
        ) as exc:
            message = (
                f"patch cannot be applied: operation {index} ({operation['op']} {path!r}) "
                "names a location that does not exist in the integration"
            )
            raise invalid(message) from exc
    return document


def _test(document: dict[str, Any], path: str, expected: object) -> bool:
    """RFC 6902 `test`: the value at `path` exists and equals `expected`, JSON types included."""
    try:
        actual: object = jsonpatch.JsonPointer(path).resolve(document)
    except (jsonpatch.JsonPointerException, LookupError, TypeError, ValueError):
        return False
    return _same(actual, expected)


def _same(left: object, right: object) -> bool:
    """JSON equality: unlike Python's, true is not 1 and an object is not an array."""
    if isinstance(left, dict) and isinstance(right, dict):
        left_items = cast("dict[str, object]", left)
        right_items = cast("dict[str, object]", right)
        return left_items.keys() == right_items.keys() and all(
            _same(value, right_items[key]) for key, value in left_items.items()
        )
    if isinstance(left, list) and isinstance(right, list):
        left_list = cast("list[object]", left)
        right_list = cast("list[object]", right)
        return len(left_list) == len(right_list) and all(map(_same, left_list, right_list))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right  # True and False are singletons; 1 is not true
    return left == right  # 1 == 1.0 as in JSON; across other JSON types never equal
