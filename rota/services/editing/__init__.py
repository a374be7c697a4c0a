"""Editing one agency's week of the rota, for the Rota editor page and the tests: the week as read
(week.py), the edits as values (changes.py), the edited grids checked by the import's rules (grid.py),
the gap impact of an edit, the gaps not yet over and who could fill one (gaps.py, over
rota/engine/impact.py and rota/engine/availability.py), the rota problems an edit leaves, as warnings
(conflicts.py, over rota/engine/conflicts.py), saving as one audited unit of work with conflicts
(save.py), and uploads through the import service (upload.py).

Permissions are checked in these modules (docs/security.md): a coordinator changes only their own
agency's rows, the CDOP manager reads every agency but changes nothing, a commissioner sees no named
responders.
"""

from rota.engine.availability import AVAILABILITY_SCHEMA, MIN_REST, free_only
from rota.engine.impact import EFFECT_SCHEMA, GapImpact, span_text
from rota.services.editing.changes import (
    ABSENCE,
    ABSENCE_GRID_COLUMNS,
    CREATE,
    DELETE,
    SHIFT,
    SHIFT_GRID_COLUMNS,
    TABLE_NAMES,
    UPDATE,
    Change,
    absence_row,
    apply_changes,
    change_from_stored,
    describe_change,
    shift_row,
)
from rota.services.editing.conflicts import WARNING_SCHEMA, days_text, edit_conflicts, shift_text
from rota.services.editing.gaps import gap_candidates, gap_impact, open_gaps, rule_labels
from rota.services.editing.grid import Validation, validate_changes
from rota.services.editing.save import (
    Conflict,
    EditConflict,
    SaveResult,
    conflict_table,
    rebase,
    require_can_edit,
    save_changes,
)
from rota.services.editing.upload import apply_import, preview_import
from rota.services.editing.week import (
    WeekView,
    agencies_for,
    editor_frames,
    export_name,
    to_wall,
    week_csv,
    week_gaps,
    week_is_stale,
    week_monday,
    week_rota,
    week_span,
    week_workbook,
)
from rota.services.imports import ImportPreview, ImportResult

__all__ = [
    "ABSENCE",
    "ABSENCE_GRID_COLUMNS",
    "AVAILABILITY_SCHEMA",
    "CREATE",
    "DELETE",
    "EFFECT_SCHEMA",
    "MIN_REST",
    "SHIFT",
    "SHIFT_GRID_COLUMNS",
    "TABLE_NAMES",
    "UPDATE",
    "WARNING_SCHEMA",
    "Change",
    "Conflict",
    "EditConflict",
    "GapImpact",
    "ImportPreview",
    "ImportResult",
    "SaveResult",
    "Validation",
    "WeekView",
    "absence_row",
    "agencies_for",
    "apply_changes",
    "apply_import",
    "change_from_stored",
    "conflict_table",
    "days_text",
    "describe_change",
    "edit_conflicts",
    "editor_frames",
    "export_name",
    "free_only",
    "gap_candidates",
    "gap_impact",
    "open_gaps",
    "preview_import",
    "rebase",
    "require_can_edit",
    "rule_labels",
    "save_changes",
    "shift_row",
    "shift_text",
    "span_text",
    "to_wall",
    "validate_changes",
    "week_csv",
    "week_gaps",
    "week_is_stale",
    "week_monday",
    "week_rota",
    "week_span",
    "week_workbook",
]
