"""ldstore.text: control characters escaped and secrets masked, at the string level."""

from __future__ import annotations

import base64
import json
import unicodedata
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from ldstore.text import (
    MASK,
    REDACTED,
    mask_url_password,
    printable,
    printable_lines,
    redact,
    redact_bytes,
)

_DANGEROUS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + [
    "\u061c", "\u200e", "\u200f", "\u2028", "\u2029",
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\ufeff",
]  # fmt: skip


@given(st.text(), st.sampled_from(_DANGEROUS), st.text())
def test_printable_leaves_no_control_character(before: str, control: str, after: str) -> None:
    """Whatever surrounds it, no C0, C1 or bidirectional character survives printable()."""
    shown = printable(before + control + after)

    assert not any(character in shown for character in _DANGEROUS)
    assert all(unicodedata.category(c) != "Cc" for c in shown)


def test_printable_keeps_ordinary_text_unchanged() -> None:
    """Plain and non-Latin text, backslashes included, is not touched."""
    text = "Production Redis — 東京 \\n ok"

    assert printable(text) == text


def test_printable_spells_escapes_readably() -> None:
    """An escape sequence shows as its code, so a reader sees what was there."""
    assert printable("a\x1b[2Jb\u202ec\n") == "a\\x1b[2Jb\\u202ec\\x0a"


@given(st.text(min_size=1))
def test_redact_masks_every_spelling(secret: str) -> None:
    """Raw, percent-encoded, JSON-escaped, repr and base64 spellings of a secret are all masked."""
    spellings = [
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
    ]
    text = " | ".join(f"<{spelling}>" for spelling in spellings)

    shown = redact(text, [secret])

    for spelling in spellings:
        assert f"<{spelling}>" not in shown
    assert shown.count(REDACTED) >= 1


def test_redact_lowercase_percent_encoding() -> None:
    """p%40ss written with lower-case hex is still the same password."""
    assert redact("u:p%40ss%3aw0rd@h", ["p@ss:w0rd"]) == f"u:{REDACTED}@h"


def test_redact_ignores_empty_secrets_and_takes_a_mask() -> None:
    """An empty secret masks nothing; the mask can be chosen."""
    assert redact("abc", [""]) == "abc"
    assert redact("key=abcdefgh", ["abcdefgh"], MASK) == f"key={MASK}"


@given(st.lists(st.text(), min_size=1))
def test_printable_lines_keeps_only_the_newlines(lines: list[str]) -> None:
    """Joined by newlines, each line is escaped; the newlines between them stay."""
    shown = printable_lines("\n".join(printable(line) for line in lines))

    assert shown.split("\n") == [printable(line) for line in lines]
    assert not (set(shown) - {"\n"}) & set(_DANGEROUS)


@given(st.text(min_size=1))
def test_redact_bytes_masks_what_redact_masks(secret: str) -> None:
    """A raw body is masked in the same spellings as text."""
    text = f"<{secret}> <{quote(secret, safe='')}> <{json.dumps(secret)[1:-1]}>"

    assert redact_bytes(text.encode(), [secret]) == redact(text, [secret]).encode()


@given(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1).filter(
        lambda password: not set(password) & set("/?#@") and password not in MASK
    )
)
def test_mask_url_password_masks_raw_and_decoded(password: str) -> None:
    """A password written raw or percent-encoded is masked wherever the URL holds it."""
    encoded = quote(password, safe="")
    url = f"redis://user:{encoded}@cache:6379/0?echo={encoded}&plain={password}"

    shown = mask_url_password(url)

    assert shown.startswith(f"redis://user:{MASK}@")
    rest = shown.removeprefix(f"redis://user:{MASK}@")
    assert rest.startswith("cache:6379")
    query = rest.partition("?")[2]
    assert password not in query  # a short password masks more than it must: safe, not tidy
    assert encoded not in query


def test_mask_url_password_leaves_urls_without_one() -> None:
    """No password (or no URL at all): the text comes back as it was."""
    for url in ("redis://cache:6379", "redis://user@cache", "rediss://:@h", "not a url", ""):
        assert mask_url_password(url) == url


def test_mask_url_password_decodes_lowercase_escapes() -> None:
    """p%40ss%3aw0rd (lower-case hex) is the password p@ss:w0rd, masked as such."""
    shown = mask_url_password("redis://:p%40ss%3aw0rd@h:6379?again=p@ss:w0rd")

    assert shown == f"redis://:{MASK}@h:6379?again={MASK}"
