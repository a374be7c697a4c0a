"""The Rota editor's files: importing a rota (a zipped bundle, a workbook or one CSV file), checked row by
row and previewed before anything is stored, and exporting the week (CSV and Excel in the bundle format,
and an iCalendar file). Layout only; reading, checking, storing and writing the files is
`rota.services.editing` (through the import service)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

import polars as pl
import streamlit as st

from dashboard.components.context import engine
from dashboard.components.downloads import CSV_MIME, ICS_MIME, XLSX_MIME, Download, download_row
from dashboard.components.feedback import failed
from dashboard.components.format import counted
from dashboard.components.rota_grids import UK_DATETIME_EDIT
from rota.services.access import Actor
from rota.services.calendar import shifts_calendar
from rota.services.editing import (
    WeekView,
    apply_import,
    export_name,
    preview_import,
    to_wall,
    week_csv,
    week_workbook,
)
from rota.services.imports import ImportPreview

PREVIEW = "editor_preview"  # the checked upload, kept while the same file is chosen
FROM_NAME = "from its name"


def _upload_preview(actor: Actor, tz: tzinfo) -> tuple[ImportPreview, bool] | None:
    """The upload form; the chosen file checked (once per file and kind) and whether to replace the stored
    rows over its span. None while no file is chosen or when it cannot be read (said why)."""
    left, right = st.columns([3, 2])
    upload = left.file_uploader(
        "Rota file",
        type=["zip", "xlsx", "csv"],
        key="editor_upload",
        help="The bundle format is in the README.",
    )
    kind = right.selectbox(
        "A CSV file holds",
        [FROM_NAME, "shifts", "absences", "responders", "training"],
        key="editor_upload_kind",
    )
    replace = right.checkbox(
        "Replace what is stored",  # short, so that it is never cut in its narrow column
        key="editor_upload_replace",
        help="First removes the stored shifts and absences of the file's responders over the file's time "
        "span: between its earliest start and latest end.",
    )
    if upload is None:
        return None
    token = (upload.file_id, kind)
    held = st.session_state.get(PREVIEW)
    if held is not None and held["token"] == token:
        return held["preview"], replace
    try:
        with st.spinner("Checking every row..."):
            preview = preview_import(
                engine(), actor, upload.name, upload.getvalue(), tz, None if kind == FROM_NAME else kind
            )
    except Exception as exc:
        failed("read the file", exc, where=True)
        return None
    st.session_state[PREVIEW] = {"token": token, "preview": preview}
    return preview, replace


def import_section(
    actor: Actor, tz: tzinfo, imported: Callable[[str], None], notice: str | None = None
) -> None:
    """The Import section (button `editor_import`); `imported` gets the notice once the file is stored,
    and the next run passes it back as `notice`, shown here by the import rather than atop the page."""
    st.header("Import")
    st.caption(
        "A bundle folder zipped (.zip), a workbook (.xlsx) with sheets responders, training, shifts and "
        "absences, or one CSV file. Every row is checked first; nothing is stored unless every row is right."
    )
    if notice:
        st.success(notice, icon=":material/check_circle:")
    checked = _upload_preview(actor, tz)
    if checked is None:
        return
    preview, replace = checked
    _preview(preview, tz)
    if st.button("Import", key="editor_import", type="primary", disabled=not preview.ok):
        bar = st.progress(0.0, text="Starting the import")

        def progress(done: float, message: str) -> None:
            bar.progress(done, text=message)

        try:
            summary = apply_import(engine(), actor, preview, replace_span=replace, progress=progress)
        except Exception as exc:
            bar.empty()
            failed("import the file", exc, where=True)
            return
        st.session_state.pop(PREVIEW, None)
        imported(f"Imported {preview.source}: {summary}.")


def _preview(preview: ImportPreview, tz: tzinfo) -> None:
    if preview.counts:
        st.markdown(
            f"**{preview.source}:** " + ", ".join(f"{n:,} {what}" for what, n in preview.counts.items())
        )
    if preview.problems:
        n = len(preview.problems)
        st.error(
            f"{counted(n, 'problem')}: fix {'them' if n != 1 else 'it'} and upload again. Nothing was stored."
        )
        st.dataframe(
            pl.DataFrame(
                [
                    {"File": p.file, "Line": p.line, "Column": p.column, "Problem": p.reason}
                    for p in preview.problems
                ],
                schema={"File": pl.String, "Line": pl.Int64, "Column": pl.String, "Problem": pl.String},
            ),
            hide_index=True,
            key="editor_import_problems",
        )
    for kind in preview.kinds:
        frame = preview.frame(kind)
        if frame is None or frame.is_empty():
            continue
        instants = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        st.markdown(
            f"**{kind.capitalize()}** ({frame.height:,} rows"
            + (", first 200 shown)" if frame.height > 200 else ")")
        )
        st.dataframe(
            to_wall(frame.head(200), instants, tz),
            hide_index=True,
            column_config={c: st.column_config.DatetimeColumn(format=UK_DATETIME_EDIT) for c in instants},
            key=f"editor_import_{kind}",
        )


def export_section(view: WeekView, tz: tzinfo) -> None:
    """Export this week: files made on click, named after the agency and the week."""
    st.header("Export this week")
    st.caption(
        "CSV and Excel use the bundle format with local times and their UTC offset, so they import back "
        "unchanged. The calendar has one event per shift with a stable identifier, so importing it again "
        "updates events instead of doubling them."
    )

    def calendar() -> bytes:
        return shifts_calendar(view.shifts, view.responders, tz, name=f"JAR rota: {view.agency}")

    download_row(
        [
            Download(
                "Shifts (CSV)",
                lambda: week_csv(view, "shift", tz),
                export_name(view, "shifts", "csv"),
                CSV_MIME,
                "editor_export_shifts",
            ),
            Download(
                "Absences (CSV)",
                lambda: week_csv(view, "absence", tz),
                export_name(view, "absences", "csv"),
                CSV_MIME,
                "editor_export_absences",
            ),
            Download(
                "Week (Excel)",
                lambda: week_workbook(view, tz),
                export_name(view, "week", "xlsx"),
                XLSX_MIME,
                "editor_export_xlsx",
            ),
            Download(
                "Calendar (iCalendar)",
                calendar,
                export_name(view, "shifts", "ics"),
                ICS_MIME,
                "editor_export_ics",
                icon=":material/calendar_month:",
            ),
        ]
    )
