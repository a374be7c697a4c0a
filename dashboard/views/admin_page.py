"""Admin: the coverage rules (edited in a table, checked rule by rule before anything is stored), the audit
log with filters and downloads, the board's actions and the stored assurance packs
(dashboard/components/admin_actions.py), for administrators only the sign-in accounts, and below them the
scheduled jobs (last and next runs) and the open alerts with an Acknowledge action. Draws only; the work is
in `rota.services.admin`, `rota.services.actions`, `rota.services.packs` and `rota.services.alerts`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.admin_actions import board_actions_section, packs_section
from dashboard.components.charts import UK_DATE_INPUT, UK_DATETIME_COLUMN, download_buttons, uk_datetime
from dashboard.components.context import engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from rota.errors import ConflictError, InputError, PermissionDenied
from rota.rules import RuleError
from rota.services.access import ADMIN, ADMIN_PAGE, ROLES, Actor
from rota.services.admin import (
    AUDIT_ACTION_CHOICES,
    AUDIT_LIMIT,
    RULE_COLUMNS,
    RULES_SCHEMA,
    AuditFilters,
    add_account,
    audit_choices,
    audit_log,
    list_accounts,
    list_rules,
    save_rules,
    set_account_active,
)
from rota.services.alerts import acknowledge, job_overview, list_alerts
from rota.timeutil import utc_now, zone_name
from rota.vocab import ACCOUNT_ROLE_LABELS, AlertKind, account_role_label

RULES_SNAPSHOT = "admin_rules_snapshot"  # the rules as read when editing began (rows, versions)
FLASH = "admin_flash"
ANY = "Any"
ZONE_KEY = zone_name(service_tz())


def _local(column: str) -> pl.Expr:
    """An instant as local text for people: 25/10/2026 01:30 GMT."""
    return pl.col(column).dt.convert_time_zone(ZONE_KEY).dt.strftime("%d/%m/%Y %H:%M %Z")


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


# ---------------------------------------------------------------------------------------------- rules


def _rules_section(actor: Actor) -> None:
    st.header("Coverage rules")
    st.caption(
        "Each rule asks for at least *min count* responders of a *role* who hold every listed competency, "
        "for an age band, during weekly local-time windows (blank = always). Separate competencies with "
        "commas and windows with semicolons, like `Mon-Fri 09:00-17:00; Sat,Sun 10:00-16:00`; a window "
        "whose end is before its start runs past midnight. Nothing is stored until every rule is valid."
    )
    snapshot: dict[str, Any] | None = st.session_state.get(RULES_SNAPSHOT)
    if snapshot is None:
        try:
            ruleset = list_rules(engine(), actor)
        except PermissionDenied as exc:
            failed("read the rules", exc, where=True)
            return
        snapshot = {
            "rows": ruleset.rules.select(RULE_COLUMNS).to_dicts(),
            "versions": ruleset.versions,
            "configured": ruleset.configured,
            "roles": list(ruleset.roles),
            "read_at": f"{utc_now().astimezone(service_tz()):%d/%m/%Y %H:%M}",
        }
        st.session_state[RULES_SNAPSHOT] = snapshot
    st.caption(
        f"As read at {snapshot.get('read_at', '')}. If someone else saves rules meanwhile, saving yours is "
        "refused (nothing is lost from theirs): reload, then make your change again."
    )
    if not snapshot["configured"]:
        st.info("No rules are stored, so the six default rules below apply. Saving stores them as shown.")
    frame = pl.DataFrame(
        snapshot["rows"],
        schema={column: RULES_SCHEMA[column] for column in RULE_COLUMNS},
        orient="row",
    )
    with st.form("rules_form"):
        edited = st.data_editor(
            frame,
            key="rules_editor",
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "rule_id": st.column_config.TextColumn("Rule id", required=True, help="Like sio-16-17"),
                "role": st.column_config.SelectboxColumn("Role", options=snapshot["roles"], required=True),
                "min_count": st.column_config.NumberColumn(
                    "Min count", min_value=1, step=1, format="%d", default=1, required=True
                ),
                "competencies": st.column_config.TextColumn(
                    "Competencies", default="jar", help="Comma-separated, like jar, jar-16-17"
                ),
                "age_band": st.column_config.TextColumn(
                    "Age band", default="0-15", help="Ages A-B inclusive: 0-15, 16-17 or 0-17"
                ),
                "windows": st.column_config.TextColumn(
                    "Windows", help="Blank = always; like Mon-Fri 09:00-17:00; separate several with ;"
                ),
            },
        )
        save, reload = st.columns([1, 5])
        submitted = save.form_submit_button("Save rules", type="primary")
        reloaded = reload.form_submit_button("Discard changes and reload")
    if reloaded:
        st.session_state.pop(RULES_SNAPSHOT, None)
        st.session_state.pop("rules_editor", None)
        st.rerun()
    if submitted:
        rows = edited.to_dicts() if isinstance(edited, pl.DataFrame) else edited.to_dict("records")
        try:
            saved = save_rules(engine(), actor, rows, snapshot["versions"])
        except (InputError, PermissionDenied, ConflictError, RuleError) as exc:
            st.error("The rules were not saved:")
            failed("save the rules", exc, where=True)
            return
        st.session_state.pop(RULES_SNAPSHOT, None)
        st.session_state.pop("rules_editor", None)
        message = str(saved)
        if saved.warnings:
            message += " Check: " + " ".join(saved.warnings)
        _done(message)


# ---------------------------------------------------------------------------------------------- audit


def _pick(label: str, options: list[str], key: str) -> str | None:
    chosen = st.selectbox(label, [ANY, *options], key=key)
    return None if chosen == ANY else chosen


def _audit_section(actor: Actor) -> None:
    st.header("Audit log")
    st.caption(
        "Every change, newest first: who made it, when (local time, 24-hour clock), and the row before "
        "and after."
    )
    try:
        choices = audit_choices(engine(), actor)
    except PermissionDenied as exc:
        failed("read the audit choices", exc, where=True)
        return
    row1 = st.columns(4)
    with row1[0]:
        who = _pick("Who", choices["actor"], "audit_actor")
    with row1[1]:
        entity = _pick("What", choices["entity"], "audit_entity")
    with row1[2]:
        action = _pick("Action", list(AUDIT_ACTION_CHOICES), "audit_action")
    entity_id = row1[3].text_input("ID contains", key="audit_entity_id", placeholder="e.g. SIO-004")
    row2 = st.columns(4)
    since = row2[0].date_input("From", value=None, format=UK_DATE_INPUT, key="audit_since")
    until = row2[1].date_input("To", value=None, format=UK_DATE_INPUT, key="audit_until")
    limit = row2[2].selectbox("Show at most", [100, AUDIT_LIMIT, 2_000, 10_000], index=1, key="audit_limit")
    filters = AuditFilters(
        actor=who,
        entity=entity,
        action=action,
        entity_id=entity_id.strip() or None,
        since=since if isinstance(since, date) else None,
        until=until if isinstance(until, date) else None,
    )
    try:
        entries = audit_log(engine(), actor, filters, limit=int(limit), tz=service_tz())
    except (InputError, PermissionDenied) as exc:
        failed("read the audit log", exc, where=True)
        return
    if entries.height == 0:
        if filters == AuditFilters():
            st.info("Nothing has been changed yet, so the audit log is empty.")
        else:
            st.info("No audit entries match these filters. Choose Any in the menus or clear the dates.")
        return
    shown = entries.select(
        pl.col("at").dt.convert_time_zone(ZONE_KEY).alias("When"),
        pl.col("actor").alias("Who"),
        pl.col("action").alias("Action"),
        pl.col("entity").alias("What"),
        pl.col("entity_id").alias("ID"),
        pl.col("before").alias("Before"),
        pl.col("after").alias("After"),
    )
    more = " (the newest; narrow the filters to see older ones)" if entries.height == limit else ""
    st.caption(f"{entries.height} entr{'ies' if entries.height != 1 else 'y'}{more}")
    st.dataframe(
        shown,
        hide_index=True,
        column_config={"When": st.column_config.DatetimeColumn(format=UK_DATETIME_COLUMN)},
    )
    download_buttons(entries, "audit-log", key="audit-download", sheet="audit")


# ---------------------------------------------------------------------------------------------- accounts


def _accounts_section(actor: Actor) -> None:
    st.header("Accounts")
    try:
        accounts = list_accounts(engine(), actor)
    except PermissionDenied as exc:
        failed("list the accounts", exc, where=True)
        return
    if accounts.height == 0:
        st.info("No sign-in accounts yet. Add one below, or with `rota users add`.")
    else:
        shown = accounts.select(
            pl.col("username").alias("Username"),
            pl.col("display_name").alias("Name"),
            pl.col("role").replace_strict(ACCOUNT_ROLE_LABELS, default=pl.col("role")).alias("Role"),
            pl.col("agency").alias("Agency"),
            pl.col("active").alias("Active"),
            pl.col("sign_in").alias("Sign-in"),
            _local("last_login_at").alias("Last sign-in"),
            _local("locked_until").alias("Paused until"),
        )
        st.dataframe(shown, hide_index=True)
    add, switch = st.columns(2)
    with add, st.form("account_form", clear_on_submit=True):
        st.markdown("**Add an account**")
        username = st.text_input("New username", key="account_username")
        display = st.text_input("Full name", key="account_display")
        role = st.selectbox("Access role", list(ROLES), format_func=account_role_label, key="account_role")
        agency = st.text_input("Agency (coordinators)", key="account_agency")
        password = st.text_input("New password", type="password", key="account_password")
        repeat = st.text_input("Repeat the password", type="password", key="account_repeat")
        if st.form_submit_button("Add account", type="primary"):
            if password != repeat:
                st.error("The two passwords differ; type them again.")
            else:
                try:
                    made = add_account(
                        engine(), actor, username, role, password, agency or None, display or None
                    )
                except (InputError, PermissionDenied) as exc:
                    failed("create the account", exc, where=True)
                else:
                    _done(f"Account {made.username} added ({made.account_label}).")
    with switch, st.form("account_switch"):
        st.markdown("**Switch an account off or on**")
        names = accounts.get_column("username").to_list()
        if not names:
            st.caption("No accounts yet.")
            st.form_submit_button("Switch", disabled=True)
            return
        states = accounts.get_column("active").to_list()
        # a dict's method, not a lambda: session state (which keeps format_func) must pickle
        labels = {n: f"{n} ({'on' if on else 'off'})" for n, on in zip(names, states, strict=True)}
        name = st.selectbox("Account", names, format_func=labels.__getitem__, key="account_pick")
        off, on = st.columns(2)
        turn_off = off.form_submit_button("Switch off")
        turn_on = on.form_submit_button("Switch on")
        if turn_off or turn_on:
            try:
                set_account_active(engine(), actor, name, bool(turn_on))
            except (InputError, PermissionDenied) as exc:
                failed("change the account", exc, where=True)
            else:
                _done(f"Account {name} switched {'on' if turn_on else 'off'}.")


# ---------------------------------------------------------------------------------------------- jobs


def _when(value: datetime | None, missing: str = "") -> str:
    return uk_datetime(value, service_tz()) if value is not None else missing


def _jobs_section(actor: Actor) -> None:
    """Each scheduled job's last and next run, and the open alerts with an Acknowledge action. Plain tables
    and captions (no data grids or notices), so the sections above keep their own."""
    st.header("Jobs and alerts")
    try:
        jobs = job_overview(engine(), actor)
        alerts = list_alerts(engine(), actor)
    except (InputError, PermissionDenied) as exc:
        failed("read the jobs and alerts", exc, where=True)
        return
    if jobs["next_run"].null_count() == jobs.height:
        st.caption(
            "No next runs yet: the scheduler has not started on this database. `rota up` runs it with the "
            "embedded database; with PostgreSQL run `rota scheduler` as its own service."
        )
    st.table(
        [
            {
                "Job": r["job"],
                "Schedule": r["schedule"],
                "Next run": _when(r["next_run"], "not scheduled"),
                "Last run": _when(r["last_run"], "never"),
                "Status": r["last_status"] or "",
                "Last result": r["last_message"] or "",
            }
            for r in jobs.iter_rows(named=True)
        ]
    )
    if alerts.height == 0:
        st.caption("No open alerts: the gap scan and the training-expiry check found nothing new.")
        return
    gaps = alerts.filter(pl.col("kind") == AlertKind.GAP.value).height
    many, gap_many = ("s" if alerts.height != 1 else ""), ("s" if gaps != 1 else "")
    st.caption(
        f"{alerts.height} open alert{many} ({gaps} gap{gap_many}, {alerts.height - gaps} training). An alert "
        "resolves itself when its gap closes or the training is renewed; acknowledging it tells others it is "
        "in hand."
    )
    st.table(
        [
            {
                "Id": r["id"],
                "Kind": "Gap" if r["kind"] == AlertKind.GAP else "Training expiry",
                "Alert": r["message"],
                "Raised": _when(r["created_at"]),
                "Acknowledged": (
                    f"{r['acknowledged_by']}, {_when(r['acknowledged_at'])}" if r["acknowledged_at"] else ""
                ),
            }
            for r in alerts.iter_rows(named=True)
        ]
    )
    waiting = alerts.filter(pl.col("acknowledged_at").is_null())
    if waiting.height == 0:
        return
    with st.form("alert_ack_form"):
        # a dict's method, not a lambda: session state (which keeps format_func) must pickle
        labels = {i: f"{i}: {m}" for i, m in waiting.select("id", "message").iter_rows()}
        chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__, key="alert_ack_pick")
        if st.form_submit_button("Acknowledge") and chosen is not None:
            try:
                done = acknowledge(engine(), actor, int(chosen))
            except (InputError, PermissionDenied) as exc:
                failed("acknowledge the alert", exc, where=True)
            else:
                _done(
                    f"Alert {chosen} acknowledged." if done else f"Alert {chosen} was already acknowledged."
                )


# ---------------------------------------------------------------------------------------------- page


actor = require_page(ADMIN_PAGE)
st.title("Admin")
note = st.session_state.pop(FLASH, None)
if note:
    st.success(note)
names = ["Coverage rules", "Audit log", "Board actions", "Assurance packs"]
if actor.role == ADMIN:  # accounts are for administrators only
    names.append("Accounts")
tabs = st.tabs(names, key="admin_tab", on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        _rules_section(actor)
if tabs[1].open:
    with tabs[1]:
        _audit_section(actor)
if tabs[2].open:
    with tabs[2]:
        board_actions_section(actor, _done)
if tabs[3].open:
    with tabs[3]:
        packs_section(actor)
if len(tabs) > 4 and tabs[4].open:
    with tabs[4]:
        _accounts_section(actor)
st.divider()
_jobs_section(actor)
