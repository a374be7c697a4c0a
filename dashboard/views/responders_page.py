"""Responders & training: the filterable responder list, the training-expiry timeline with the cover each
lapse would remove, and (for admins and coordinators of the agency) adding or renewing training and
deactivating a responder. Draws only; the numbers come from `rota.services.people`, cached by a data
version that changes with every edit."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import streamlit as st

from dashboard.components.charts import (
    UK_DATE_COLUMN,
    UK_DATE_INPUT,
    download_buttons,
    show_chart,
    uk_date,
)
from dashboard.components.context import database_key, engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import counted, labelled
from dashboard.components.responders_charts import expiry_timeline
from rota.errors import ConflictError, InputError, PermissionDenied
from rota.services.access import ADMIN, COORDINATOR, RESPONDERS, Actor
from rota.services.people import (
    BANDS,
    HORIZON_DAYS,
    IMPACT_WEEKS,
    ResponderFilters,
    add_training,
    agencies,
    data_version,
    lapse_warnings,
    renew_training,
    responder_list,
    responder_training,
    set_responder_active,
    training_expiries,
    update_training,
)
from rota.timeutil import utc_now, zone, zone_name

JAR_YEARS = 3
FLASH = "responders_flash"
Access = tuple[str, str | None]  # role, agency


# ---------------------------------------------------------------------------------------------- cached reads


# Keyed by the database, a data version (every change is audited, so it moves with each edit) and what the
# answer depends on: the role and agency (which rows are editable), not the username. The actor itself is
# passed unhashed (leading underscore) so that the service still checks it.


@st.cache_data(show_spinner=False, max_entries=32)
def _responders(
    url: str, version: int, access: Access, today: date, filters: ResponderFilters, _actor: Actor
) -> pl.DataFrame:
    return responder_list(engine(), _actor, filters, today, service_tz())


@st.cache_data(show_spinner="Working out what each lapse would cost...", max_entries=8)
def _expiries(
    url: str, version: int, access: Access, today: date, tz_name: str, _actor: Actor
) -> pl.DataFrame:
    return training_expiries(engine(), _actor, today, zone(tz_name))


@st.cache_data(show_spinner=False, max_entries=8)
def _agencies(url: str, version: int, access: Access, _actor: Actor) -> list[str]:
    return agencies(engine(), _actor)


def _done(message: str) -> None:
    """Show `message` after the rerun that picks up the change."""
    st.session_state[FLASH] = message
    st.rerun()


# ---------------------------------------------------------------------------------------------- sections


def _filters(actor: Actor, all_people: pl.DataFrame, agency_list: list[str]) -> ResponderFilters:
    roles = sorted(all_people.get_column("role").unique().to_list())
    comps = sorted(
        {c for text in all_people.get_column("competencies").to_list() for c in text.split(", ") if c}
    )
    cols = st.columns([2, 2, 3, 2, 2])
    search = cols[0].text_input("Search", placeholder="Name or ID", key="responders_search")
    role = cols[1].selectbox("Role", ["All roles", *roles], key="responders_role")
    own = [actor.agency] if actor.agency in agency_list else []
    agency_choices = ["All agencies", *agency_list]
    agency = cols[2].selectbox(
        "Agency",
        agency_choices,
        index=agency_choices.index(own[0]) if own else 0,
        key="responders_agency",
    )
    status = cols[3].selectbox("Status", ["Active", "Inactive", "All"], key="responders_status")
    competency = cols[4].selectbox(
        "Holds (valid today)", ["Any", *comps], key="responders_competency", help="Valid on today's date"
    )
    return ResponderFilters(
        role=None if role == "All roles" else role,
        agency=None if agency == "All agencies" else agency,
        active={"Active": True, "Inactive": False}.get(status),
        competency=None if competency == "Any" else competency,
        search=search.strip() or None,
    )


def _responder_table(people: pl.DataFrame) -> None:
    if people.height == 0:
        st.info("No responder matches these filters. Clear the search or choose All in the menus above.")
        return
    shown = labelled(
        people,
        {
            "Name": "name",
            "ID": "responder_id",
            "Role": "role",
            "Agency": "agency",
            "Email": "email",
            "Phone": "phone",
            "Active": "active",
            "Valid today": "competencies",
            # dd/mm/yyyy, or words where no training expires (never "None")
            "Next expiry": pl.col("next_expiry").dt.strftime("%d/%m/%Y").fill_null("No expiry"),
        },
    )
    st.caption(counted(people.height, "responder"))
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Next expiry": st.column_config.TextColumn(help="Last valid day of the first training to expire"),
            "Active": st.column_config.CheckboxColumn(),
        },
    )
    download_buttons(shown, "responders", key="responders-download")


def _expiry_section(expiries: pl.DataFrame, today: date) -> None:
    st.header(f"Training lapsing in the next {HORIZON_DAYS} days")
    st.caption(
        "Active responders whose training runs out with no renewal recorded. The cover each lapse would "
        f"remove is worked out on the rota for the {IMPACT_WEEKS} weeks after it: the hours a rule would "
        "be in gap because this responder no longer counts."
    )
    if expiries.height == 0:
        st.success(f"No training lapses in the next {HORIZON_DAYS} days without a renewal recorded.")
        return
    counts = dict(expiries.group_by("band").len().iter_rows())
    cols = st.columns(4)
    for col, band in zip(cols, BANDS, strict=False):
        col.metric(f"Lapsing {band}", counts.get(band, 0))
    lost = expiries.get_column("cover_lost_hours").sum()
    cols[3].metric("Hours of cover at risk", f"{lost:g} h")
    for sentence in lapse_warnings(expiries):
        st.warning(sentence, icon=":material/warning:")
    still = expiries.filter((pl.col("rostered_hours") > 0) & (pl.col("cover_lost_hours") == 0))
    for name, competency, lapse, hours in still.select(
        "name", "competency", "lapse_on", "rostered_hours"
    ).iter_rows():
        st.info(
            f"{name} is still rostered for {hours:g} h after their {competency} lapses on {uk_date(lapse)}; "
            "others cover those hours, but they will not count.",
            icon=":material/info:",
        )
    chart, table = st.columns([3, 2])
    with chart:
        show_chart(
            expiry_timeline(expiries, today),
            alt="Timeline of training lapses by date, one row per responder and competency; the table beside "
            "it lists the same lapses.",
            key="expiry-timeline",
        )
    with table:
        shown = labelled(
            expiries,
            {
                "Name": "name",
                "Training": "competency",
                "Valid until": "valid_until",
                "Days": "days_to_lapse",
                "Lapses": "band",
                "Cover lost (h)": pl.col("cover_lost_hours").round(1),
                "Rules losing cover": "rules_affected",
                "Agency": "agency",
            },
        )
        st.dataframe(
            shown,
            hide_index=True,
            column_config={"Valid until": st.column_config.DateColumn(format=UK_DATE_COLUMN)},
        )
        download_buttons(
            expiries.drop("editable"), "training-expiries", key="expiries-download", sheet="expiries"
        )


def _edit_section(actor: Actor, people: pl.DataFrame, today: date) -> None:
    st.header("Add or renew training, deactivate a responder")
    mine = people.filter(pl.col("editable"))
    if actor.role == COORDINATOR:
        st.caption(f"You can change the responders of {actor.agency}.")
    if mine.height == 0:
        st.info("There is no responder you can change.")
        return
    labels = {
        rid: f"{name} ({rid}{'' if active else ', inactive'})"
        for rid, name, active in mine.select("responder_id", "name", "active").iter_rows()
    }
    rid = st.selectbox("Responder", list(labels), format_func=labels.__getitem__, key="edit_responder")
    person = mine.filter(pl.col("responder_id") == rid).row(0, named=True)
    try:
        records = responder_training(engine(), actor, rid)
    except (PermissionDenied, InputError) as exc:
        failed("read their training", exc)
        return
    if records.height:
        st.dataframe(
            labelled(
                records,
                {
                    "Training": "competency",
                    "Valid from": "valid_from",
                    "Valid until": "valid_until",
                },
            ),
            hide_index=True,
            column_config={
                "Valid from": st.column_config.DateColumn(format=UK_DATE_COLUMN),
                "Valid until": st.column_config.DateColumn(format=UK_DATE_COLUMN, help="Blank: no expiry"),
            },
        )
    else:
        st.caption("No training recorded yet.")
    known = sorted({"jar", "jar-16-17", *records.get_column("competency").to_list()})
    add, change, status = st.columns(3)
    with add, st.form("training_form", clear_on_submit=False):
        st.markdown("**Add or renew training**")
        competency = st.selectbox("Training", known, key="edit_competency", accept_new_options=True)
        valid_from = st.date_input("Valid from", value=today, format=UK_DATE_INPUT, key="edit_from")
        default_until = _years_later(today, JAR_YEARS) - timedelta(days=1)
        valid_until = st.date_input(
            "Valid until", value=default_until, format=UK_DATE_INPUT, key="edit_until"
        )
        no_expiry = st.checkbox("No expiry", key="edit_no_expiry")
        if st.form_submit_button("Save training", type="primary"):
            _save_training(
                actor, rid, records, competency or "", valid_from, None if no_expiry else valid_until
            )
    with change, st.form("end_date_form"):
        st.markdown("**Correct an end date**")
        if records.height == 0:
            st.caption("Nothing to correct.")
            st.form_submit_button("Save end date", disabled=True)
        else:
            options = {
                int(i): f"{c} from {uk_date(f)}"
                for i, c, f in records.select("id", "competency", "valid_from").iter_rows()
            }
            tid = st.selectbox("Record", list(options), format_func=options.__getitem__, key="edit_record")
            new_until = st.date_input("New end date", value=today, format=UK_DATE_INPUT, key="edit_new_until")
            none = st.checkbox("No expiry", key="edit_record_no_expiry")
            if st.form_submit_button("Save end date"):
                row = records.filter(pl.col("id") == tid).row(0, named=True)
                try:
                    update_training(engine(), actor, tid, int(row["version"]), None if none else new_until)
                except (PermissionDenied, InputError, ConflictError) as exc:
                    failed("change the training", exc)
                else:
                    ends = "never" if none else uk_date(new_until)
                    _done(f"{person['name']}'s {row['competency']} record now ends {ends}.")
    with status, st.form("status_form"):
        active = bool(person["active"])
        st.markdown("**Deactivate**" if active else "**Reactivate**")
        st.caption(
            "An inactive responder no longer counts for cover, even where still rostered."
            if active
            else "They count for cover again wherever they are rostered and trained."
        )
        sure = st.checkbox(
            f"Yes, {'deactivate' if active else 'reactivate'} {person['name']}", key="edit_sure"
        )
        if st.form_submit_button("Deactivate" if active else "Reactivate"):
            if not sure:
                st.warning("Tick the box to confirm first.")
            else:
                try:
                    set_responder_active(engine(), actor, rid, int(person["version"]), not active)
                except (PermissionDenied, InputError, ConflictError) as exc:
                    failed("change the responder", exc)
                else:
                    _done(f"{person['name']} is now {'inactive' if active else 'active'}.")


def _years_later(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _save_training(
    actor: Actor,
    rid: str,
    records: pl.DataFrame,
    competency: str,
    valid_from: object,
    valid_until: date | None,
) -> None:
    if not isinstance(valid_from, date):
        st.error("Give the date the training was done (valid from).")
        return
    latest = records.filter(pl.col("competency") == competency.strip()).sort("valid_from").tail(1)
    try:
        if latest.height and valid_from > latest["valid_from"][0]:
            renew_training(
                engine(), actor, int(latest["id"][0]), int(latest["version"][0]), valid_from, valid_until
            )
            verb = "renewed"
        else:
            add_training(engine(), actor, rid, competency, valid_from, valid_until)
            verb = "recorded"
    except (PermissionDenied, InputError, ConflictError) as exc:
        failed("record the training", exc)
    else:
        until = "with no expiry" if valid_until is None else f"until {uk_date(valid_until)}"
        _done(f"{competency.strip()} {verb} from {uk_date(valid_from)} {until}.")


# ---------------------------------------------------------------------------------------------- page


actor = require_page(RESPONDERS)
st.title("Responders & training")
note = st.session_state.pop(FLASH, None)
if note:
    st.success(note)
tz = service_tz()
today = utc_now().astimezone(tz).date()
access: Access = (actor.role, actor.agency)
url = database_key()
try:
    version = data_version(engine())
    everyone = _responders(url, version, access, today, ResponderFilters(), actor)
    agency_list = _agencies(url, version, access, actor)
except (PermissionDenied, InputError) as exc:
    failed("list the responders", exc)
    st.stop()

if everyone.height == 0:
    st.info(
        "No responders are stored yet. Import the rota (responders.csv and training.csv) on the Rota editor "
        "page or with `rota import`, or load the demo with `rota demo`."
    )
    st.stop()

tab_names = ["Training expiry", "Responders"]
can_edit = actor.role in (ADMIN, COORDINATOR)
if can_edit:
    tab_names.append("Edit")
# Only the open tab's content runs (the expiry costs are the page's heaviest work, if cached).
tabs = st.tabs(tab_names, key="responders_tab", on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        try:
            expiries = _expiries(url, version, access, today, zone_name(tz), actor)
        except (PermissionDenied, InputError) as exc:
            failed("list training expiries", exc)
        else:
            _expiry_section(expiries, today)
if tabs[1].open:
    with tabs[1]:
        chosen = _filters(actor, everyone, agency_list)
        try:
            people = _responders(url, version, access, today, chosen, actor)
        except (PermissionDenied, InputError) as exc:
            failed("list the responders", exc)
        else:
            _responder_table(people)
if can_edit and tabs[2].open:
    with tabs[2]:
        _edit_section(actor, everyone, today)
