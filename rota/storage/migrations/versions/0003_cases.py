"""cases and settings: case_record (pseudonymised CDOP cases, docs/cases.md) and setting (key/value)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:10:00

Generated with autogenerate against rota/storage/models.py (CaseRecord, Setting), then checked by hand:
the age checks named as in the model, the index on notified_at for loading a period.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_record",
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=True),
        sa.Column("jar_criteria_met", sa.Boolean(), nullable=False),
        sa.Column("jar_triggered", sa.Boolean(), nullable=False),
        sa.Column("paediatrician_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("police_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("home_visit_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("planning_meeting_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ncmd_notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reason_incomplete", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("age_years BETWEEN 0 AND 17", name="ck_case_record_age_years"),
        sa.CheckConstraint(
            "age_days IS NULL OR (age_years = 0 AND age_days BETWEEN 0 AND 364)",
            name="ck_case_record_age_days",
        ),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_record_notified_at", "case_record", ["notified_at"], unique=False)
    op.create_table(
        "setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("setting")
    op.drop_index("ix_case_record_notified_at", table_name="case_record")
    op.drop_table("case_record")
