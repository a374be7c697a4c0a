"""reason categories and audited reads: case_record.reason_category (derived from reason_incomplete for the
stored cases) and the audit action 'read' (reads of case-level data are audited)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 22:40:00

Written by hand. The audit log keeps its append-only triggers: on SQLite the table is copied to change
its check constraint (batch mode), so the triggers are dropped first and created again after; on
PostgreSQL the constraint is replaced in place and no row is touched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ACTIONS = "action IN ('create', 'update', 'delete', 'import')"
NEW_ACTIONS = "action IN ('create', 'update', 'delete', 'import', 'read')"


def _audit_table(check: str) -> sa.Table:
    return sa.Table(
        "audit_log",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.CheckConstraint(check, name="ck_audit_log_action"),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_entity", "entity", "entity_id"),
    )


AUDIT_REFUSAL = "audit_log is append-only: rows cannot be changed or deleted"  # as in 0001


def _replace_action_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event.lower()}")
        with op.batch_alter_table("audit_log", recreate="always", copy_from=_audit_table(old)) as batch:
            batch.drop_constraint("ck_audit_log_action", type_="check")
            batch.create_check_constraint("ck_audit_log_action", sa.text(new))
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"
            )
    else:
        op.drop_constraint("ck_audit_log_action", "audit_log", type_="check")
        op.create_check_constraint("ck_audit_log_action", "audit_log", sa.text(new))


def upgrade() -> None:
    with op.batch_alter_table("case_record") as batch:
        batch.add_column(sa.Column("reason_category", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    from rota.analytics.reasons import reason_category

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT case_id, reason_incomplete FROM case_record")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE case_record SET reason_category = :code WHERE case_id = :case_id"),
            [{"case_id": cid, "code": reason_category(reason)} for cid, reason in rows],
        )
    _replace_action_check(OLD_ACTIONS, NEW_ACTIONS)


def downgrade() -> None:
    # The audit log keeps 'read' among its actions: it is append-only, so the read entries stay.
    with op.batch_alter_table("case_record") as batch:
        batch.drop_column("reason_category")
