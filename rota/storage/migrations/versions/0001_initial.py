"""initial schema: responders, training, shifts, absences, coverage rules, roles, append-only audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:27:03

Generated with autogenerate against rota/storage/models.py, then checked by hand: foreign keys named,
triggers added that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on audit_log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_REFUSAL = "audit_log is append-only: rows cannot be changed or deleted"


def upgrade() -> None:
    op.create_table(
        "responder",
        sa.Column("responder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("responder_id"),
    )
    op.create_table(
        "role",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "coverage_rule",
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.Column("age_band", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("min_count >= 1", name="ck_coverage_rule_min_count"),
        sa.PrimaryKeyConstraint("rule_id"),
    )
    op.create_table(
        "training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("responder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("competency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="ck_training_dates"),
        sa.ForeignKeyConstraint(
            ["responder_id"], ["responder.responder_id"], name="fk_training_responder"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("responder_id", "competency", "valid_from", name="uq_training_key"),
    )
    op.create_table(
        "shift",
        sa.Column("shift_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("responder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('oncall', 'onsite')", name="ck_shift_kind"),
        sa.CheckConstraint('"end" > start', name="ck_shift_order"),
        sa.ForeignKeyConstraint(["responder_id"], ["responder.responder_id"], name="fk_shift_responder"),
        sa.PrimaryKeyConstraint("shift_id"),
    )
    # (responder_id, start) serves both the foreign key and "this responder's shifts in a range".
    op.create_index("ix_shift_responder_start", "shift", ["responder_id", "start"], unique=False)
    op.create_index("ix_shift_start_end", "shift", ["start", "end"], unique=False)
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("responder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint('"end" > start', name="ck_absence_order"),
        sa.ForeignKeyConstraint(
            ["responder_id"], ["responder.responder_id"], name="fk_absence_responder"
        ),
        sa.PrimaryKeyConstraint("id"),
        # Leading responder_id: also serves the foreign key.
        sa.UniqueConstraint("responder_id", "start", "end", name="uq_absence_key"),
    )
    op.create_index("ix_absence_start_end", "absence", ["start", "end"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'import')", name="ck_audit_log_action"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"], unique=False)
    _create_audit_guards()


def _create_audit_guards() -> None:
    """The audit log is append-only in the database itself, not only by convention in the code."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{AUDIT_REFUSAL}' USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()"
        )


def _drop_audit_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")


def downgrade() -> None:
    _drop_audit_guards()
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_absence_start_end", table_name="absence")
    op.drop_table("absence")
    op.drop_index("ix_shift_start_end", table_name="shift")
    op.drop_index("ix_shift_responder_start", table_name="shift")
    op.drop_table("shift")
    op.drop_table("training")
    op.drop_table("coverage_rule")
    op.drop_table("role")
    op.drop_table("responder")
