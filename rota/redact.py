"""Keeping secrets out of what the product prints and logs: the password in a database URL (also in one
that cannot be parsed), password-like query parameters, and the secrets the settings hold (the SMTP
password, the alert webhook's URL, which is itself a credential).

`redact` is the one masking helper; the command line passes every message through it, and
`install_log_redaction` makes every log record pass through it too.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"

# scheme://user:password@host... The password runs to the last @ before a space or quote, so a password
# holding an @ is masked whole even when a parser would split it elsewhere.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s'\"]*@")
# password=... in a query string or a libpq keyword/value string.
_PARAMETER = re.compile(
    r"(?i)(?P<head>\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token|signature|sig)\s*=\s*)"
    r"[^\s&'\";,]+"
)
_PARAMETER_NAMES = re.compile(
    r"(?i)^(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token|signature|sig)$"
)
_MIN_SECRET = 8  # a remembered secret is replaced in all text: a short one would mangle ordinary words
_MIN_GIVEN = 3  # a secret given with the text (the URL's own password) may be shorter

_known: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Mask `value` wherever it appears from now on (the webhook URL, the SMTP password)."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _known.add(value)


def url_secrets(url: str) -> list[str]:
    """The secrets a URL holds: its password (as written and decoded) and password-like query values."""
    found: list[str] = []
    match = _USERINFO.search(url)
    if match:
        found.append(url[match.end("head") : match.end() - 1])
    try:
        parts = urlsplit(url)
        if parts.password:
            found.extend([parts.password, unquote(parts.password)])
        found.extend(v for k, v in parse_qsl(parts.query) if _PARAMETER_NAMES.match(k))
    except ValueError:
        pass
    return [s for s in dict.fromkeys(found) if s]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every URL password (scheme://user:***@), password-like parameter (password=***),
    remembered secret and given secret (say the password of the URL the text is about) replaced."""
    if not text:
        return text
    given = [s for s in secrets if len(s) >= _MIN_GIVEN]
    with _lock:
        known = list(_known)
    for secret in sorted({*given, *known}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)
    return _PARAMETER.sub(lambda m: m.group("head") + MASK, text)


def mask_url(url: str) -> str:
    """A database (or any) URL fit to print: user:password@ becomes user:***@, even when the URL cannot be
    parsed (user:password@host without a scheme is masked too)."""
    masked = redact(url)
    if "://" not in masked and "@" in masked:
        userinfo, _, rest = masked.rpartition("@")
        if ":" in userinfo:
            masked = f"{userinfo.split(':', 1)[0]}:{MASK}@{rest}"
    return masked


# ------------------------------------------------------------------------------------------------ logging

_installed = False


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's problem to report, not ours
        return
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        masked = redact(text)
        if masked != text:
            record.exc_text = masked  # formatters use exc_text when it is set
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> None:
    """Pass every log record of this process through `redact` as it is made, whichever logger or handler
    (ours, APScheduler's, SQLAlchemy's, a test's) sees it. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        base = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = base(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
