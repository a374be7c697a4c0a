"""The scheduled jobs as plain functions: `rota.jobs:gap_scan`, `training_expiry`, `forecast_refresh` and
`import_watch`. Each takes an engine and settings (the scheduler passes neither: the engine it bound with
`use_engine`, and the settings of the environment, are used), is idempotent, and records its run in
`job_run`. The scheduler (rota/scheduler.py) and `rota jobs run NAME` call the same functions.

Alerts hold rules, times and responders' training; never a child's data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.config import Settings, load_settings
from rota.errors import InputError, Problem
from rota.model import UTC_US
from rota.notify import NotifyError, post_webhook, send_email
from rota.output import duration_text
from rota.storage import Engine, StorageError
from rota.storage import alerts as store
from rota.storage.db import database_url, make_engine, write_transaction
from rota.timeutil import day_start, iso_local, uk_local, utc_now

log = logging.getLogger(__name__)

LOOKAHEAD = timedelta(days=30)
# Longer than the longest shift (7 days): a gap under way keeps the start it was first reported with.
LOOKBACK = timedelta(days=8)
EXPIRY_DAYS = 30
FORECAST_DAYS = 91
DIGEST_LINES = 100  # lines listed in one message; the rest are counted


@dataclass(frozen=True)
class JobSpec:
    """A job: its fixed id (also the name `rota jobs run` takes), the function the scheduler calls, and
    its schedule in words (the triggers themselves are in rota/scheduler.py)."""

    name: str
    function: str
    title: str
    schedule: str


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("gap-scan", "rota.jobs:gap_scan", "Gap scan (next 30 days)", "every hour"),
        JobSpec(
            "training-expiry", "rota.jobs:training_expiry", "Training expiry (next 30 days)", "daily 02:30"
        ),
        JobSpec(
            "forecast-refresh", "rota.jobs:forecast_refresh", "Forecast refresh (91 days)", "nightly 03:00"
        ),
        JobSpec(
            "import-watch",
            "rota.jobs:import_watch",
            "Import watch folder",
            "every minute while ROTA_IMPORT_WATCH is set",
        ),
    )
}
JOB_NAMES: tuple[str, ...] = tuple(JOBS)


@dataclass(frozen=True)
class JobOutcome:
    """How one run went: `ok`, `failed` (the message says why) or `skipped` (another run was going)."""

    job: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status != "failed"


# ---------------------------------------------------------------------------------------------- running

_bound: Engine | None = None
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def use_engine(engine: Engine | None) -> None:
    """The engine the jobs use when called without one (the scheduler binds its own)."""
    global _bound
    _bound = engine


def _default_engine() -> Engine:
    if _bound is not None:
        return _bound
    url = database_url()
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


Work = Callable[[Engine, Settings, datetime], tuple[bool, str]]


def _run(
    name: str, engine: Engine | None, settings: Settings | None, now: datetime | None, work: Work
) -> JobOutcome:
    eng = engine or _default_engine()
    run_id = store.begin_run(eng, name, utc_now())
    if run_id is None:
        message = "skipped: another run of this job is still going"
        log.info("%s %s", name, message)
        return JobOutcome(name, "skipped", message)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(eng, run_id, stop), name=f"{name}-heartbeat", daemon=True
    )
    beat.start()
    try:
        cfg = settings or load_settings()
        ok, message = work(eng, cfg, now or utc_now())
    except InputError as exc:  # bad settings or data: the message says what to change
        ok, message = False, exc.message(limit=20)
    except Exception as exc:
        ok, message = False, f"{exc.__class__.__name__}: {exc}"
        log.error("%s failed", name, exc_info=True)
    finally:
        stop.set()
        beat.join()
    status = "ok" if ok else "failed"
    store.end_run(eng, run_id, status, message, utc_now())
    (log.info if ok else log.warning)("%s %s: %s", name, status, message)
    return JobOutcome(name, status, message)


def _heartbeat(engine: Engine, run_id: int, stop: threading.Event) -> None:
    """Renew the run's lease while it works, so that a run whose process dies is recognised within
    minutes (rota/storage/alerts.py, `run_is_live`)."""
    while not stop.wait(store.HEARTBEAT.total_seconds()):
        try:
            store.renew_run(engine, run_id, utc_now())
        except StorageError:  # busy for a moment: the lease outlasts several missed beats
            log.debug("heartbeat of run %s missed", run_id, exc_info=True)


def gap_scan(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Gaps of the next 30 days: one stored alert per gap, new ones sent in one digest, closed ones
    resolved. Running it again with nothing changed sends nothing."""
    return _run("gap-scan", engine, settings, now, _gap_scan)


def training_expiry(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Competencies lapsing within 30 days (no renewal recorded): one alert each, sent to the coordinators
    of the responder's agency."""
    return _run("training-expiry", engine, settings, now, _training_expiry)


def forecast_refresh(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """The forecast of the next 91 days, stored for the dashboard (`latest_forecast`)."""
    return _run("forecast-refresh", engine, settings, now, _forecast_refresh)


def import_watch(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Import what has been dropped into ROTA_IMPORT_WATCH, each item all or nothing, then move it to
    done/ or failed/ with a report beside it."""
    return _run("import-watch", engine, settings, now, _import_watch)


RUNNERS: dict[str, Callable[..., JobOutcome]] = {
    "gap-scan": gap_scan,
    "training-expiry": training_expiry,
    "forecast-refresh": forecast_refresh,
    "import-watch": import_watch,
}


def run_job(
    name: str, engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Run one job now by its name (`rota jobs run NAME`)."""
    if name not in RUNNERS:
        raise InputError(Problem("job", None, None, f"no job {name!r}; the jobs are {', '.join(JOB_NAMES)}"))
    return RUNNERS[name](engine, settings, now=now)


# ---------------------------------------------------------------------------------------------- JSON


def alert_json(alert: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """An alert for programs (webhook, `rota alerts`): local ISO times with their offset."""

    def t(value: Any) -> str | None:
        return iso_local(value, tz) if isinstance(value, datetime) else None

    until = alert.get("valid_until")
    return {
        "id": alert.get("id"),
        "kind": alert["kind"],
        "rule_id": alert.get("rule_id"),
        "role": alert.get("role"),
        "age_band": alert.get("age_band"),
        "start": t(alert.get("start")),
        "end": t(alert.get("end")),
        "open_end": bool(alert.get("open_end")),
        "required": alert.get("required"),
        "available": alert.get("available"),
        "responder_id": alert.get("responder_id"),
        "competency": alert.get("competency"),
        "valid_until": until.isoformat() if isinstance(until, date) else None,
        "agency": alert.get("agency"),
        "message": alert.get("message"),
        "created_at": t(alert.get("created_at")),
        "resolved_at": t(alert.get("resolved_at")),
        "resolution": alert.get("resolution"),
        "acknowledged_at": t(alert.get("acknowledged_at")),
        "acknowledged_by": alert.get("acknowledged_by"),
    }


# ---------------------------------------------------------------------------------------------- gap scan


def _utc_text(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gap_key(rule_id: str, start: datetime, end: datetime | None) -> str:
    """What identifies a gap: rule, start and end in UTC (`open` when it runs past the look-ahead)."""
    return f"{rule_id}|{_utc_text(start)}|{_utc_text(end) if end is not None else 'open'}"


@dataclass(frozen=True)
class FoundGap:
    """A gap as the engine found it in [lo, hi); `start_open`/`end_open`: cut off by the scan's range."""

    rule_id: str
    role: str
    age_band: str
    start: datetime
    end: datetime
    required: int
    available: int
    start_open: bool = False
    end_open: bool = False

    @property
    def key(self) -> str:
        return gap_key(self.rule_id, self.start, None if self.end_open else self.end)


@dataclass
class GapPlan:
    """What a scan changes: alerts to add, alerts to update in place (not sent again), alerts to resolve."""

    new: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    resolved: dict[int, str] = field(default_factory=dict)
    unchanged: int = 0


def gap_message(
    label: str, start: datetime, end: datetime, open_end: bool, required: int, available: int, tz: tzinfo
) -> str:
    """One line for people: `Paediatrician 16-17: 0 of 1 qualified on duty from ... to ... (16 h)`."""
    minutes = (end - start).total_seconds() / 60
    until = (
        f"beyond {uk_local(end, tz)} (the end of the 30-day look-ahead)"
        if open_end
        else f"to {uk_local(end, tz)} ({duration_text(minutes)})"
    )
    return f"{label}: {available} of {required} qualified on duty from {uk_local(start, tz)} {until}"


def _continues(alert: Mapping[str, Any], gap: FoundGap) -> bool:
    """Is this stored alert the same gap, seen again with the scan's edges moved on?"""
    if alert["rule_id"] != gap.rule_id:
        return False
    start_ok = alert["start"] == gap.start or (gap.start_open and alert["start"] <= gap.start)
    end_ok = (alert["end"] == gap.end and bool(alert["open_end"]) == gap.end_open) or (
        bool(alert["open_end"]) and gap.end >= alert["end"]
    )
    return bool(start_ok and end_ok)


def plan_gap_alerts(
    stored: Sequence[Mapping[str, Any]],
    found: Sequence[FoundGap],
    now: datetime,
    labels: Mapping[str, str],
    tz: tzinfo,
) -> GapPlan:
    """Match the gaps found against the open gap alerts. A gap matches an alert with the same key, or one
    it continues (an alert cut off at the old look-ahead, or begun before the scan's range): those are
    updated quietly. Unmatched gaps become new alerts; unmatched alerts are resolved as `passed` (over),
    `changed` (the rule has a new, different gap there) or `covered`."""
    plan = GapPlan()
    by_key = {a["key"]: a for a in stored}
    used: set[int] = set()
    pairs: list[tuple[FoundGap, Mapping[str, Any] | None]] = []
    loose: list[FoundGap] = []
    for g in found:
        a = by_key.get(g.key)
        if a is not None and a["id"] not in used:
            used.add(a["id"])
            pairs.append((g, a))
        else:
            loose.append(g)
    for g in loose:
        match = next((a for a in stored if a["id"] not in used and _continues(a, g)), None)
        if match is not None:
            used.add(match["id"])
        pairs.append((g, match))
    for g, a in pairs:
        label = labels.get(g.rule_id, g.rule_id)
        if a is None:
            plan.new.append(
                {
                    "kind": "gap",
                    "key": g.key,
                    "rule_id": g.rule_id,
                    "role": g.role,
                    "age_band": g.age_band,
                    "start": g.start,
                    "end": g.end,
                    "open_end": g.end_open,
                    "required": g.required,
                    "available": g.available,
                    "message": gap_message(label, g.start, g.end, g.end_open, g.required, g.available, tz),
                    "created_at": now,
                }
            )
            continue
        start = a["start"] if g.start_open else g.start
        want = {
            "key": gap_key(g.rule_id, start, None if g.end_open else g.end),
            "start": start,
            "end": g.end,
            "open_end": g.end_open,
            "required": g.required,
            "available": g.available,
        }
        values = {k: v for k, v in want.items() if a[k] != v}
        if values:
            values["message"] = gap_message(label, start, g.end, g.end_open, g.required, g.available, tz)
            plan.updates.append((int(a["id"]), values))
        plan.unchanged += 1
    for a in stored:
        if a["id"] in used:
            continue
        if not a["open_end"] and a["end"] <= now:
            reason = "passed"
        elif any(
            n["rule_id"] == a["rule_id"] and n["start"] < a["end"] and n["end"] > a["start"] for n in plan.new
        ):
            reason = "changed"
        else:
            reason = "covered"
        plan.resolved[int(a["id"])] = reason
    return plan


def find_gaps(engine: Engine, now: datetime, tz: tzinfo) -> tuple[list[FoundGap], dict[str, str]]:
    """The gaps under way or ahead within 30 days of `now`, from the stored rota, and the rules' labels."""
    from rota.engine import gaps
    from rota.services.coverage import rule_label
    from rota.storage.rota import load_rota

    lo, hi = now - LOOKBACK, now + LOOKAHEAD
    rota = load_rota(engine, lo, hi)
    rules = rota.effective_rules()
    found = gaps(rota, lo, hi, tz, rules).filter(pl.col("end") > now)
    out = [
        FoundGap(
            rule_id=r["rule_id"],
            role=r["role"],
            age_band=r["age_band"],
            start=r["start"],
            end=r["end"],
            required=int(r["required"]),
            available=int(r["available"]),
            start_open=r["start"] <= lo,
            end_open=r["end"] >= hi,
        )
        for r in found.iter_rows(named=True)
    ]
    return out, {r.id: rule_label(r) for r in rules}


def _gap_scan(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    found, labels = find_gaps(engine, now, settings.tz)
    with write_transaction(engine) as conn:
        store.job_lock(conn, "gap-scan")
        plan = plan_gap_alerts(store.open_alerts(conn, "gap"), found, now, labels, settings.tz)
        store.resolve_alerts(conn, plan.resolved, now)
        for alert_id, values in plan.updates:
            store.update_alert(conn, alert_id, values)
        store.insert_alerts(conn, plan.new)
    ok, sent = _deliver_gaps(engine, settings, now)
    summary = (
        f"{len(found)} gap{'s' if len(found) != 1 else ''} in the next 30 days: {len(plan.new)} new, "
        f"{plan.unchanged} already alerted, {len(plan.resolved)} resolved; {sent}"
    )
    return ok, summary


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _listing(lines: Sequence[str]) -> str:
    shown = [f"- {line}" for line in lines[:DIGEST_LINES]]
    if len(lines) > DIGEST_LINES:
        shown.append(f"- ... and {len(lines) - DIGEST_LINES} more (see the dashboard)")
    return "\n".join(shown)


def _gap_digest(alerts: Sequence[Mapping[str, Any]], tz: tzinfo) -> tuple[str, str]:
    n = len(alerts)
    subject = f"CDOP rota: {_count(n, 'new gap')} in cover in the next 30 days"
    zone_name = getattr(tz, "key", str(tz))
    body = (
        f"The rota has {_count(n, 'gap')} in cover not reported before (times are local, {zone_name}):\n\n"
        + _listing([a["message"] for a in alerts])
        + "\n\nThe Coverage page of the dashboard shows each gap and who could fill it. Gaps are checked "
        "every hour and each is reported once; a gap that closes is marked resolved.\n"
    )
    return subject, body


def _payload(
    event: str, subject: str, body: str, alerts: Sequence[Mapping[str, Any]], now: datetime, tz: tzinfo
) -> dict[str, Any]:
    return {
        "source": "cdop-rota",
        "event": event,
        "generated_at": iso_local(now, tz),
        "summary": subject,
        "text": body,
        "count": len(alerts),
        "alerts": [alert_json(a, tz) for a in alerts],
    }


def _deliver_gaps(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """Send the open gap alerts not yet sent, in one digest per channel; mark them sent only on success."""
    if not (settings.email_on or settings.webhook_on):
        return True, "not sent: no e-mail or webhook is configured"
    done: list[str] = []
    problems: list[str] = []
    if settings.email_on:
        pending = store.pending_alerts(engine, "gap", "emailed_at")
        if pending:
            subject, body = _gap_digest(pending, settings.tz)
            try:
                send_email(settings, settings.alert_email, subject, body)
            except NotifyError as exc:
                problems.append(f"{exc} (will retry at the next scan)")
            else:
                store.mark_sent(engine, [a["id"] for a in pending], "emailed_at", now)
                done.append(f"e-mailed {_count(len(pending), 'gap')} in one digest")
    if settings.webhook_on:
        pending = store.pending_alerts(engine, "gap", "posted_at")
        if pending:
            subject, body = _gap_digest(pending, settings.tz)
            try:
                post_webhook(settings, _payload("gaps", subject, body, pending, now, settings.tz))
            except NotifyError as exc:
                problems.append(f"{exc} (will retry at the next scan)")
            else:
                store.mark_sent(engine, [a["id"] for a in pending], "posted_at", now)
                done.append(f"posted {_count(len(pending), 'gap')} to the webhook")
    text = "; ".join(done + problems) or "nothing new to send"
    return not problems, text


# ---------------------------------------------------------------------------------------------- training


def expiry_key(responder_id: str, competency: str, valid_until: date) -> str:
    return f"{responder_id}|{competency}|{valid_until.isoformat()}"


def _training_expiry(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    from rota.services.people import upcoming_lapses
    from rota.storage.rota import load_rota

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
            "kind": "training_expiry",
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
    with write_transaction(engine) as conn:
        store.job_lock(conn, "training-expiry")
        stored = store.open_alerts(conn, "training_expiry")
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
    ok, sent = _deliver_expiries(engine, settings, now)
    summary = (
        f"{_count(len(found), 'competency', 'competencies')} lapse within {EXPIRY_DAYS} days: "
        f"{len(new)} new, {len(found) - len(new)} already alerted, {len(gone)} resolved; {sent}"
    )
    return ok, summary


def coordinators(engine: Engine) -> dict[str, list[str]]:
    """Active coordinator accounts by agency (usernames), from the sign-in accounts."""
    from rota.services.auth import list_users

    users = list_users(engine, None).filter(
        (pl.col("role") == "coordinator") & pl.col("active") & pl.col("agency").is_not_null()
    )
    out: dict[str, list[str]] = {}
    for name, agency in users.select("username", "agency").iter_rows():
        out.setdefault(agency, []).append(name)
    return out


def _is_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain)


def _deliver_expiries(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """One e-mail per agency, to its coordinators (accounts named by an e-mail address; else
    ROTA_ALERT_EMAIL), and one webhook post with them all."""
    if not (settings.email_on or settings.webhook_on):
        return True, "not sent: no e-mail or webhook is configured"
    done: list[str] = []
    problems: list[str] = []
    tz = settings.tz
    if settings.email_on:
        pending = store.pending_alerts(engine, "training_expiry", "emailed_at")
        if pending:
            by_agency: dict[str | None, list[dict[str, Any]]] = {}
            for a in pending:
                by_agency.setdefault(a["agency"], []).append(a)
            who = coordinators(engine)
            for agency, group in sorted(by_agency.items(), key=lambda kv: kv[0] or ""):
                names = who.get(agency, []) if agency else []
                to = tuple(n for n in names if _is_address(n)) or settings.alert_email
                place = agency or "responders with no agency"
                what = _count(len(group), "competency", "competencies")
                subject = f"CDOP rota: {what} of {place} lapse within 30 days"
                plural = "s" if len(names) != 1 else ""
                audience = (
                    f"For the rota coordinator{plural} of {agency} ({', '.join(names)})"
                    if names
                    else f"For the rota coordinator of {place} (no coordinator account is set up for it)"
                )
                body = (
                    f"{audience}:\n\n"
                    + _listing([a["message"] for a in group])
                    + "\n\nRecord the renewal on the Responders & training page (or import training.csv) "
                    "before the lapse date, or the rota loses that responder's cover.\n"
                )
                if not to:
                    problems.append(f"e-mail for {place}: no coordinator address and no ROTA_ALERT_EMAIL")
                    continue
                try:
                    send_email(settings, to, subject, body)
                except NotifyError as exc:
                    problems.append(f"{place}: {exc} (will retry at the next run)")
                else:
                    store.mark_sent(engine, [a["id"] for a in group], "emailed_at", now)
                    done.append(f"e-mailed {place} ({len(group)})")
    if settings.webhook_on:
        pending = store.pending_alerts(engine, "training_expiry", "posted_at")
        if pending:
            subject = f"CDOP rota: {_count(len(pending), 'competency', 'competencies')} lapse within 30 days"
            body = _listing([a["message"] for a in pending])
            try:
                post_webhook(settings, _payload("training_expiry", subject, body, pending, now, tz))
            except NotifyError as exc:
                problems.append(f"{exc} (will retry at the next run)")
            else:
                store.mark_sent(engine, [a["id"] for a in pending], "posted_at", now)
                done.append(f"posted {len(pending)} to the webhook")
    return not problems, "; ".join(done + problems) or "nothing new to send"


# ---------------------------------------------------------------------------------------------- forecast


def _forecast_refresh(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    from rota.analytics.demand import Prior
    from rota.analytics.forecast import forecast
    from rota.services.forecasting import forecast_settings, history_window
    from rota.storage.cases import load_cases
    from rota.storage.rota import load_rota

    tz = settings.tz
    today = now.astimezone(tz).date()
    start, end = day_start(today, tz), day_start(today + timedelta(days=FORECAST_DAYS), tz)
    figures = forecast_settings(engine)
    rota = load_rota(engine, start, end)
    cases = load_cases(engine)
    result = forecast(
        rota,
        cases,
        start,
        end,
        tz,
        Prior(child_population=figures.child_population),
        figures.commitment_hours,
        # whole quarters, as on the Capacity & forecast page: the stored outlook (shown to commissioners
        # on Coverage) changes with the rota and once a quarter, not with each newly notified case
        *history_window(cases, min(start, now), tz),
    )
    payload = json.loads(json.dumps(result.as_json(), default=str))
    store.store_forecast(engine, now, start, end, payload)
    return True, (
        f"forecast {uk_local(start, tz)} to {uk_local(end, tz)} stored: "
        f"{payload.get('expected_cases')} expected cases, from {cases.height} cases of history"
    )


def latest_forecast(engine: Engine) -> tuple[datetime, dict[str, Any]] | None:
    """The newest forecast the nightly job stored: (when, the `rota forecast` JSON), or None."""
    return store.latest_forecast(engine)


# ---------------------------------------------------------------------------------------------- import


def _import_watch(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    from rota.watchfolder import watch_folder

    return watch_folder(engine, settings, now)


# ---------------------------------------------------------------------------------------------- overview

OVERVIEW_SCHEMA: dict[str, pl.DataType] = {
    "job": pl.String(),
    "schedule": pl.String(),
    "next_run": UTC_US,
    "last_run": UTC_US,
    "last_finished": UTC_US,
    "last_status": pl.String(),
    "last_message": pl.String(),
}


def overview(engine: Engine, settings: Settings, now: datetime | None = None) -> pl.DataFrame:
    """Every job: its schedule, next run (from the job store; null while no scheduler has stored it), and
    its last run (start, end, status, message). A run still marked running long after it began died with
    its process and shows as `interrupted`."""
    now = now or utc_now()
    scheduled = store.scheduled_runs(engine) or {}
    last = store.last_runs(engine)
    rows = []
    for name, spec in JOBS.items():
        schedule = spec.schedule
        if name == "import-watch":
            schedule = (
                f"every minute: {settings.import_watch}"
                if settings.import_watch
                else "off (ROTA_IMPORT_WATCH not set)"
            )
        run = last.get(name, {})
        status = run.get("status")
        started = run.get("started_at")
        if (
            status == "running"
            and started is not None
            and not store.run_is_live(started, run.get("message"), now)
        ):
            status = "interrupted"
        rows.append(
            (name, schedule, scheduled.get(name), started, run.get("finished_at"), status, run.get("message"))
        )
    return pl.DataFrame(rows, schema=OVERVIEW_SCHEMA, orient="row")


def overview_lines(engine: Engine, settings: Settings) -> list[str]:
    out = []
    for r in overview(engine, settings).iter_rows(named=True):
        nxt = uk_local(r["next_run"], settings.tz) if r["next_run"] else "not scheduled"
        out.append(f"{r['job']}: {r['schedule']}; next run {nxt}")
    return out
