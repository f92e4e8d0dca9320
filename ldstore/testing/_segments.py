"""Environments and segments: client-side IDs, big segments and their memberships, as wire JSON.

A big segment (`unbounded: true`) keeps its members here, not in its representation:
LaunchDarkly keeps them in the persistent store, which the syncer (`_sync.py`) writes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

import attrs

from ldstore.testing._routes import environment_path, project_path, segment_path, segments_path
from ldstore.testing._state import Store
from ldstore.testing._wire import JSON_TYPE, invalid, not_found, parse_json

DEFAULT_CONTEXT_KIND = "user"

# The environment representation requires SDK and mobile keys; the fake has none to give.
# These say so in their own text and are the same in every environment.
FAKE_SDK_KEY = "sdk-fake-not-a-secret"
FAKE_MOBILE_KEY = "mob-fake-not-a-secret"


def client_side_id(project_key: str, environment_key: str) -> str:
    """The environment's client-side ID: 24 hex digits, stable for the same two keys.

    Derived (SHA-256 of the keys as a JSON pair), so it is the same across restarts of the
    fake: a store written by one fake process is read under the same prefix by the next.
    """
    pair = json.dumps([project_key, environment_key])  # ASCII: every key encodes
    return hashlib.sha256(pair.encode()).hexdigest()[:24]


def _millis() -> int:
    return time.time_ns() // 1_000_000


def _link(href: str) -> dict[str, str]:
    return {"href": href, "type": JSON_TYPE}


@attrs.define
class Segment:
    """One segment; a big one's members are context keys (of `context_kind`)."""

    project_key: str
    environment_key: str
    key: str
    name: str
    description: str | None
    tags: list[str]
    unbounded: bool
    context_kind: str
    generation: int
    creation_date: int
    last_modified: int
    included: set[str] = attrs.Factory(set[str])
    excluded: set[str] = attrs.Factory(set[str])
    revision: int = 0
    """Counts membership changes, so a reader can tell its copy is current."""
    _members: tuple[int, frozenset[str], frozenset[str]] | None = None

    @property
    def ref(self) -> str:
        """The segment ref a store keys memberships by: `<key>.g<generation>`."""
        return f"{self.key}.g{self.generation}"

    def members(self) -> tuple[frozenset[str], frozenset[str]]:
        """Included and excluded context keys, frozen (one copy per revision)."""
        if self._members is None or self._members[0] != self.revision:
            self._members = (self.revision, frozenset(self.included), frozenset(self.excluded))
        return self._members[1], self._members[2]

    def update(
        self,
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        uninclude: Iterable[str] = (),
        unexclude: Iterable[str] = (),
    ) -> None:
        """Removals first, then additions: a key both removed and added ends up added."""
        self.included.difference_update(uninclude)
        self.excluded.difference_update(unexclude)
        self.included.update(include)
        self.excluded.update(exclude)
        self.revision += 1
        self.last_modified = _millis()

    def render(self) -> dict[str, Any]:
        """The UserSegment representation (members of a big segment are not in it)."""
        keys = (self.project_key, self.environment_key)
        shown: dict[str, Any] = {
            "_links": {
                "self": _link(segment_path(*keys, self.key)),
                "parent": _link(segments_path(*keys)),
                "environment": _link(environment_path(*keys)),
            },
            "key": self.key,
            "name": self.name,
        }
        if self.description is not None:
            shown["description"] = self.description
        shown.update(
            {
                "tags": list(self.tags),
                "creationDate": self.creation_date,
                "lastModifiedDate": self.last_modified,
                "rules": [],
                "version": 1,
                "deleted": False,
                "unbounded": self.unbounded,
                "generation": self.generation,
                "_access": {"denied": [], "allowed": []},
            }
        )
        if self.unbounded:
            shown["unboundedContextKind"] = self.context_kind
        else:
            shown["included"] = sorted(self.included)
            shown["excluded"] = sorted(self.excluded)
        return shown


_Key = tuple[str, str, str]


class Segments:
    """Segments by project, environment and key; errors raise `Problem` as the API answers."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._items: dict[_Key, Segment] = {}
        # How many times each key was created; kept when a segment (or everything) goes,
        # so a re-created segment never reuses a generation a store may still hold.
        self._generations: dict[_Key, int] = {}

    def reset(self) -> None:
        """Forget every segment (generations are kept, see above)."""
        self._items.clear()

    # The operations.

    def environment(self, project_key: str, environment_key: str) -> dict[str, Any]:
        """The Environment representation; `_id` is the client-side ID."""
        self._store.check_environment(project_key, environment_key)
        return {
            "_links": {
                "self": _link(environment_path(project_key, environment_key)),
                "project": _link(project_path(project_key)),
            },
            "_id": client_side_id(project_key, environment_key),
            "key": environment_key,
            "name": environment_key,
            "apiKey": FAKE_SDK_KEY,
            "mobileKey": FAKE_MOBILE_KEY,
            "color": "417505",
            "defaultTtl": 0,
            "secureMode": False,
            "defaultTrackEvents": False,
            "requireComments": False,
            "confirmChanges": False,
            "tags": [],
            "critical": False,
        }

    def create_from_body(
        self, project_key: str, environment_key: str, *, body: bytes, content_type: str
    ) -> dict[str, Any]:
        """POST a SegmentBody: `key` and `name` required; `unbounded: true` makes a big one."""
        self._store.check_environment(project_key, environment_key)
        post = parse_json(body, content_type)
        if not isinstance(post, dict):
            message = "request body must be a JSON object"
            raise invalid(message)
        post = cast("dict[str, Any]", post)
        key = post.get("key")
        name = post.get("name")
        description = post.get("description")
        tags = post.get("tags", [])
        unbounded = post.get("unbounded", False)
        kind = post.get("unboundedContextKind", DEFAULT_CONTEXT_KIND)
        if not isinstance(key, str) or not key:
            message = "key is required: a non-empty string"
            raise invalid(message)
        if not isinstance(name, str) or not name:
            message = "name is required: a non-empty string"
            raise invalid(message)
        if description is not None and not isinstance(description, str):
            message = "description must be a string"
            raise invalid(message)
        if not isinstance(tags, list) or not all(
            isinstance(tag, str) for tag in cast("list[object]", tags)
        ):
            message = "tags must be an array of strings"
            raise invalid(message)
        if not isinstance(unbounded, bool):
            message = "unbounded must be a boolean"
            raise invalid(message)
        if not isinstance(kind, str) or not kind:
            message = "unboundedContextKind must be a non-empty string"
            raise invalid(message)
        segment = self.create(
            project_key,
            environment_key,
            key,
            name=name,
            description=description,
            tags=cast("list[str]", tags),
            unbounded=unbounded,
            context_kind=kind,
        )
        return segment.render()

    def create(  # noqa: PLR0913 - the fields of a segment
        self,
        project_key: str,
        environment_key: str,
        key: str,
        *,
        name: str,
        description: str | None = None,
        tags: Iterable[str] = (),
        unbounded: bool,
        context_kind: str = DEFAULT_CONTEXT_KIND,
    ) -> Segment:
        """Store a new segment at the next generation of its key (400 if the key is taken)."""
        scope = (project_key, environment_key, key)
        if scope in self._items:
            # The API's own example: "A feature with that key already exists" is a 400.
            message = f"A segment with that key already exists: {key!r}"
            raise invalid(message)
        generation = self._generations.get(scope, 0) + 1
        self._generations[scope] = generation
        now = _millis()
        segment = Segment(
            project_key,
            environment_key,
            key,
            name,
            description,
            list(tags),
            unbounded,
            context_kind,
            generation,
            now,
            now,
        )
        self._items[scope] = segment
        return segment

    def get(self, project_key: str, environment_key: str, segment_key: str) -> dict[str, Any]:
        """The UserSegment representation."""
        return self.find(project_key, environment_key, segment_key).render()

    def delete(self, project_key: str, environment_key: str, segment_key: str) -> None:
        """Remove a segment; re-creating its key gives the next generation, empty."""
        segment = self.find(project_key, environment_key, segment_key)
        del self._items[(segment.project_key, segment.environment_key, segment.key)]

    def update_targets(
        self,
        project_key: str,
        environment_key: str,
        segment_key: str,
        *,
        body: bytes,
        content_type: str,
    ) -> None:
        """Apply `{"included": {"add", "remove"}, "excluded": {...}}` to a big segment."""
        segment = self._big(project_key, environment_key, segment_key)
        state = parse_json(body, content_type)
        if not isinstance(state, dict):
            message = "request body must be a JSON object"
            raise invalid(message)
        state = cast("dict[str, Any]", state)
        included = _changes(state, "included")
        excluded = _changes(state, "excluded")
        segment.update(
            include=included["add"],
            uninclude=included["remove"],
            exclude=excluded["add"],
            unexclude=excluded["remove"],
        )

    def membership(
        self, project_key: str, environment_key: str, segment_key: str, context_key: str
    ) -> dict[str, Any]:
        """BigSegmentTarget: whether the context is in the included and excluded lists."""
        segment = self._big(project_key, environment_key, segment_key)
        if not context_key:
            message = "the context key must not be empty"
            raise invalid(message)
        return {
            "userKey": context_key,
            "included": context_key in segment.included,
            "excluded": context_key in segment.excluded,
        }

    # For the syncer and the helpers.

    def find(self, project_key: str, environment_key: str, segment_key: str) -> Segment:
        """The segment, or a 404 naming what is unknown."""
        self._store.check_environment(project_key, environment_key)
        segment = self._items.get((project_key, environment_key, segment_key))
        if segment is None:
            message = f"no segment {segment_key!r} in {project_key}/{environment_key}"
            raise not_found(message)
        return segment

    def big_segments(self, project_key: str, environment_key: str) -> list[Segment]:
        """The environment's big segments (live objects; read, do not change)."""
        return [
            segment
            for (project, environment, _), segment in self._items.items()
            if segment.unbounded and project == project_key and environment == environment_key
        ]

    def _big(self, project_key: str, environment_key: str, segment_key: str) -> Segment:
        segment = self.find(project_key, environment_key, segment_key)
        if not segment.unbounded:
            message = (
                f"segment {segment_key!r} is a standard segment; context targets of this "
                "kind exist only for big segments (unbounded: true)"
            )
            raise invalid(message)
        return segment


def _changes(state: Mapping[str, Any], which: str) -> dict[str, list[str]]:
    """`add` and `remove` of one SegmentUserList; absent or null means no change."""
    changes: dict[str, list[str]] = {"add": [], "remove": []}
    given = state.get(which)
    if given is None:
        return changes
    if not isinstance(given, dict):
        message = f'{which} must be an object like {{"add": [...], "remove": [...]}}'
        raise invalid(message)
    given = cast("dict[str, Any]", given)
    for verb in changes:
        keys = given.get(verb)
        if keys is None:
            continue
        if not isinstance(keys, list):
            message = f"{which}.{verb} must be an array of context keys"
            raise invalid(message)
        for index, key in enumerate(cast("list[object]", keys)):
            if not isinstance(key, str) or not key:
                message = f"{which}.{verb}[{index}] must be a non-empty string (a context key)"
                raise invalid(message)
        changes[verb] = cast("list[str]", keys)
    return changes
