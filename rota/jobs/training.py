"""The daily training-expiry job: competencies lapsing within 30 days (no renewal recorded), one alert
each, sent to the coordinators of the responder's agency (and in one webhook post).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import polars as pl

from rota.config import Settings
from rota.jobs.digest import Delivery, count, deliver, digest_body, listing
from rota.notify import send_email
from rota.services.auth import list_users
from rota.services.people import upcoming_lapses
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.db import write_transaction
from rota.storage.rota import load_rota
from rota.timeutil import day_start
from rota.vocab import AccountRole, AlertKind

EXPIRY_DAYS = 30


def expiry_key(responder_id: str, competency: str, valid_until: date) -> str:
    return f"{responder_id}|{competency}|{valid_until.isoformat()}"


def _lapsing(engine: Engine, settings: Settings, now: datetime) -> dict[str, dict[str, Any]]:
    """The alerts wanted now, by key: one for each competency lapsing within EXPIRY_DAYS."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    rota = load_rota(engine, day_start(today, tz), day_start(today + timedelta(days=1), tz))
    lapses = upcoming_lapses(rota, today, EXPIRY_DAYS).join(
        rota.responders.select("responder_id", "name", "role", "agency"), on="responder_id", how="left"
    )
    found: dict[str, dict[str, Any]] = {}
    for r in lapses.iter_rows(named=True):
        key = expiry_key(r["responder_id"], r["competency"], r["valid_until"])
        who = r["name"] or r["responder_id"]
        where = ", ".join(x for x in (r["role"], r["agency"]) if x)
        found[key] = {
            "kind": AlertKind.TRAINING_EXPIRY.value,
            "key": key,
            "role": r["role"],
            "start": day_start(r["lapse_on"], tz),
            "responder_id": r["responder_id"],
            "competency": r["competency"],
            "valid_until": r["valid_until"],
            "agency": r["agency"],
            "message": (
                f"{who} ({where}): {r['competency']} is valid until {r['valid_until']:%d/%m/%Y} and lapses "
                f"on {r['lapse_on']:%d/%m/%Y} unless renewal is recorded"
            ),
            "created_at": now,
        }
    return found


def check_expiries(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """The training-expiry job's work: new lapses alerted, renewed or lapsed ones resolved, then sent."""
    today = now.astimezone(settings.tz).date()
    found = _lapsing(engine, settings, now)
    with write_transaction(engine) as conn:
        store.job_lock(conn, "training-expiry")
        stored = store.open_alerts(conn, AlertKind.TRAINING_EXPIRY.value)
        known = {a["key"] for a in stored}
        gone = {
            int(a["id"]): (
                "lapsed" if a["valid_until"] is not None and a["valid_until"] < today else "renewed"
            )
            for a in stored
            if a["key"] not in found
        }
        store.resolve_alerts(conn, gone, now)
        new = [row for key, row in found.items() if key not in known]
        store.insert_alerts(conn, new)
    ok, sent = deliver_expiries(engine, settings, now)
    summary = (
        f"{count(len(found), 'competency', 'competencies')} lapse within {EXPIRY_DAYS} days: "
        f"{len(new)} new, {len(found) - len(new)} already alerted, {len(gone)} resolved; {sent}"
    )
    return ok, summary


def coordinators(engine: Engine) -> dict[str, list[str]]:
    """Active coordinator accounts by agency (usernames), from the sign-in accounts."""
    users = list_users(engine, None).filter(
        (pl.col("role") == AccountRole.COORDINATOR.value) & pl.col("active") & pl.col("agency").is_not_null()
    )
    out: dict[str, list[str]] = {}
    for name, agency in users.select("username", "agency").iter_rows():
        out.setdefault(agency, []).append(name)
    return out


def _is_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain)


def _agency_mail(agency: str | None, group: Sequence[Mapping[str, Any]], names: list[str]) -> tuple[str, str]:
    """The subject and body of one agency's e-mail, addressed to its coordinators by name."""
    place = agency or "responders with no agency"
    subject = f"CDOP rota: {count(len(group), 'competency', 'competencies')} of {place} lapse within 30 days"
    plural = "s" if len(names) != 1 else ""
    audience = (
        f"For the rota coordinator{plural} of {agency} ({', '.join(names)})"
        if names
        else f"For the rota coordinator of {place} (no coordinator account is set up for it)"
    )
    body = digest_body(
        audience,
        group,
        "Record the renewal on the Responders & training page (or import training.csv) before the lapse "
        "date, or the rota loses that responder's cover.",
    )
    return subject, body


def _email_agencies(out: Delivery, settings: Settings, pending: Sequence[Mapping[str, Any]]) -> None:
    """One e-mail per agency, to its coordinators (accounts named by an e-mail address; else
    ROTA_ALERT_EMAIL)."""
    by_agency: dict[str | None, list[Mapping[str, Any]]] = {}
    for a in pending:
        by_agency.setdefault(a["agency"], []).append(a)
    who = coordinators(out.engine)
    for agency, group in sorted(by_agency.items(), key=lambda kv: kv[0] or ""):
        names = who.get(agency, []) if agency else []
        to = tuple(n for n in names if _is_address(n)) or settings.alert_email
        place = agency or "responders with no agency"
        if not to:
            out.problems.append(f"e-mail for {place}: no coordinator address and no ROTA_ALERT_EMAIL")
            continue
        subject, body = _agency_mail(agency, group, names)
        out.send(
            group,
            "emailed_at",
            partial(send_email, settings, to, subject, body),
            f"e-mailed {place} ({len(group)})",
            who=f"{place}: ",
        )


def deliver_expiries(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """One e-mail per agency, to its coordinators, and one webhook post with them all."""

    def sender(out: Delivery, channel: str, pending: list[dict[str, Any]]) -> None:
        if channel == "emailed_at":
            _email_agencies(out, settings, pending)
            return
        subject = f"CDOP rota: {count(len(pending), 'competency', 'competencies')} lapse within 30 days"
        body = listing([a["message"] for a in pending])
        out.post(settings, "training_expiry", subject, body, pending, str(len(pending)))

    return deliver(
        engine, settings, now, AlertKind.TRAINING_EXPIRY.value, "will retry at the next run", sender
    )
