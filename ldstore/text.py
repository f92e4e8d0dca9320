"""Text that ldstore writes for people: control characters escaped, secrets masked.

Every human-readable output (tables, plain lines, error lines, progress, the doctor's
report, log records) passes server data through :func:`printable`; every text that may
hold a secret passes through :func:`redact`. ``--output json`` is exact JSON and does not
use :func:`printable` (JSON escapes control characters itself).

>>> print(printable("prod\\x1b[2J"))
prod\\x1b[2J
>>> redact("redis://:p%40ss@host", ["p@ss"])
'redis://:[REDACTED]@host'
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, quote_plus, unquote

__all__ = [
    "MASK",
    "REDACTED",
    "mask_url_password",
    "printable",
    "printable_lines",
    "redact",
    "redact_bytes",
    "secret_forms",
]

REDACTED: Final = "[REDACTED]"
# How the API shows a stored secret (our reading: LaunchDarkly does not document it);
# one constant, so a single edit follows the real API if it differs.
MASK: Final = "********"

# C0 controls and DEL, C1 controls, and the Unicode format characters that reorder or
# hide text on a terminal (bidirectional embeddings, overrides and isolates, the
# line/paragraph separators that some terminals and log viewers treat as newlines).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"  # noqa: PLR2004 - one byte


def printable(text: str) -> str:
    """``text`` with every control, C1 and bidirectional character shown as an escape.

    Newlines and tabs are escaped too: one field stays on one line, so a name cannot
    forge a second log line or table row.
    """
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text


def printable_lines(text: str) -> str:
    """``text`` with each line made :func:`printable`: only the newlines ldstore meant stay.

    The last guard where output leaves the process (a line written on stdout, a log
    record); each field printed inside a line goes through :func:`printable` first, so a
    newline in a name is escaped rather than taken for the end of a line.
    """
    return "\n".join(printable(line) for line in text.split("\n"))


def secret_forms(secret: str) -> frozenset[str]:
    """The spellings in which ``secret`` can reach a text: raw, percent-encoded (both
    styles, either case), JSON-escaped, Python-quoted (``repr``, ``ascii``), and base64
    (as in a Basic authorization)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],  # as a message quotes a value with !r (argparse does)
        ascii(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }
    forms |= {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in forms}
    return frozenset(form for form in forms if form)


def _forms(secrets: Iterable[str]) -> list[str]:
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    return sorted(forms, key=len, reverse=True)  # longest first: a form may hold a shorter one


def redact(text: str, secrets: Iterable[str], mask: str = REDACTED) -> str:
    """``text`` with every form of every secret (see :func:`secret_forms`) replaced."""
    for form in _forms(secrets):
        if form in text:
            text = text.replace(form, mask)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str], mask: str = REDACTED) -> bytes:
    """:func:`redact` for a raw body: every form of every secret, as UTF-8, replaced."""
    for form in _forms(secrets):
        encoded = form.encode()
        if encoded in data:
            data = data.replace(encoded, mask.encode())
    return data


def mask_url_password(url: str, mask: str = MASK) -> str:
    """``url`` with the password of its ``user:password@`` part masked, in every spelling.

    The password is masked where the URL holds it and wherever the path, query or fragment
    repeats it, raw or percent-decoded (``p%40ss`` is the password ``p@ss``), in any of the forms
    :func:`redact` knows. A URL without a password comes back unchanged.

    >>> mask_url_password("redis://default:p%40ss@cache:6379/0?password=p@ss")
    'redis://default:********@cache:6379/0?password=********'
    """
    scheme = url.find("://")
    if scheme < 0:
        return url
    start = scheme + 3
    end = next((i for i in range(start, len(url)) if url[i] in "/?#"), len(url))
    userinfo, at, host = url[start:end].rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon and password):
        return url
    # The path, query and fragment may repeat it (a server's echo, a ?password=); the
    # scheme, user and host are left alone, so a short password cannot garble them.
    rest = redact(url[end:], {password, unquote(password)}, mask)
    return f"{url[:start]}{user}:{mask}@{host}{rest}"
