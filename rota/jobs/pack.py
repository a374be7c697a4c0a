"""The daily assurance-pack job: on the fifth working day after a quarter ends (England bank holidays,
`rota.reports.quarters.pack_day`), or on the first run after it within the next quarter when the scheduler
was down that day, it builds that quarter's packs as PDF, stores them (the Admin page lists them) and
e-mails the commissioners' pack to ROTA_PACK_EMAIL.

Two packs are built, one per audience: the commissioners' (suppressed figures), which is the board's and the
only one sent, and the CDOP manager's (exact figures), kept for the manager's own record. Both are built
before either is stored, so a failed build stores nothing and the next run tries again; once the
commissioners' pack is stored, later runs in the quarter do nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from rota.config import Settings
from rota.errors import InputError
from rota.notify import NotifyError, send_email
from rota.reports import Pack, build_pack
from rota.reports.quarters import Quarter, last_complete, pack_day
from rota.services.access import COMMISSIONER, SYSTEM
from rota.services.assurance import AUDIENCE_LABELS, MANAGER
from rota.services.packs import store_pack, stored_pack_exists
from rota.storage import Engine
from rota.timeutil import uk_local

log = logging.getLogger("rota.jobs")

SENT_AUDIENCE = COMMISSIONER  # the board's pack: the one e-mailed
BUILD_ORDER: tuple[str, ...] = (COMMISSIONER, MANAGER)


def due_quarter(now: datetime, settings: Settings) -> tuple[Quarter, bool]:
    """The quarter a run at `now` is about (the last complete one), and whether its pack day has come."""
    today = now.astimezone(settings.tz).date()
    quarter = last_complete(today)
    return quarter, today >= pack_day(quarter)


def pack_mail(quarter: Quarter, built_at: datetime, settings: Settings) -> tuple[str, str]:
    """The subject and body of the e-mail that carries the commissioners' pack."""
    subject = f"CDOP rota: assurance pack {quarter.label} ({quarter.words})"
    body = (
        f"The safeguarding partnership board's assurance pack for {quarter.label} ({quarter.words}) is "
        "attached as a PDF.\n\n"
        f"It is the pack for {AUDIENCE_LABELS[COMMISSIONER]}: small numbers are suppressed and it holds no "
        "case-level data. The scheduled assurance-pack job built it on "
        f"{uk_local(built_at, settings.tz)}.\n\n"
        "The CDOP manager's pack, with exact figures, is kept on the dashboard's Admin page and is not "
        "e-mailed.\n"
    )
    return subject, body


def email_pack(
    settings: Settings, quarter: Quarter, attachment: tuple[str, str, bytes], built_at: datetime
) -> str:
    """E-mail the commissioners' pack (file name, media type, content) to ROTA_PACK_EMAIL; what was done,
    in words. When e-mail is not configured nothing is sent and the words say what to set. A failed send
    raises NotifyError."""
    unset = [
        name
        for name, missing in (
            ("ROTA_SMTP_HOST", settings.smtp_host is None),
            ("ROTA_PACK_EMAIL", not settings.pack_email),
        )
        if missing
    ]
    if unset:
        return f"not e-mailed: set {' and '.join(unset)} to send it"
    subject, body = pack_mail(quarter, built_at, settings)
    send_email(settings, settings.pack_email, subject, body, (attachment,))
    n = len(settings.pack_email)
    return f"e-mailed the commissioners' pack to {n} address{'' if n == 1 else 'es'} (ROTA_PACK_EMAIL)"


def _built(
    engine: Engine, settings: Settings, now: datetime, quarter: Quarter, audiences: list[str]
) -> list[Pack]:
    """The packs of `quarter` for `audiences` as PDF, built by the scheduled job (`SYSTEM`)."""
    return [
        build_pack(engine, SYSTEM, period=quarter, audience=a, fmt="pdf", tz=settings.tz, now=now)
        for a in audiences
    ]


def build_quarter_pack(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """The assurance-pack job's work: the last complete quarter's packs, once, from its pack day on."""
    quarter, due = due_quarter(now, settings)
    if not due:
        return True, f"{quarter.label}'s pack is due on {pack_day(quarter):%d/%m/%Y}: nothing to do yet"
    if stored_pack_exists(engine, quarter.label, SENT_AUDIENCE):
        return True, f"{quarter.label}'s pack is already stored: nothing to do"
    wanted = [
        a for a in BUILD_ORDER if a == SENT_AUDIENCE or not stored_pack_exists(engine, quarter.label, a)
    ]
    try:
        built = _built(engine, settings, now, quarter, wanted)
    except Exception as exc:
        log.error("%s: building %s's pack failed", "assurance-pack", quarter.label, exc_info=True)
        why = exc.message(limit=5) if isinstance(exc, InputError) else f"{exc.__class__.__name__}: {exc}"
        return (
            False,
            f"could not build {quarter.label}'s pack ({why}); nothing stored, the next run tries again",
        )
    board = next(p for p in built if p.audience == SENT_AUDIENCE)
    # The commissioners' pack last: once it is stored the quarter is done, so if storing the other fails
    # the next run builds and sends the board's pack again.
    for pack in sorted(built, key=lambda p: p is board):
        store_pack(
            engine,
            SYSTEM,
            period=quarter.label,
            audience=pack.audience,
            agency=None,
            filename=pack.filename,
            content=pack.content,
            media_type=pack.media_type,
            now=now,
        )
    stored = f"stored {quarter.label}'s pack for " + " and for ".join(
        AUDIENCE_LABELS[p.audience] for p in built
    )
    try:
        sent = email_pack(settings, quarter, (board.filename, board.media_type, board.content), now)
    except NotifyError as exc:
        return (
            False,
            f"{stored}; {exc} (not tried again: download it from the Admin page and send it by hand)",
        )
    return True, f"{stored}; {sent}"
