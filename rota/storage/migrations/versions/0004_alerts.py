"""scheduled jobs: alert (gap and training-expiry warnings), job_run (every run of a job), forecast_snapshot

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:30:00

Generated with autogenerate against rota/storage/models.py (Alert, JobRun, ForecastSnapshot), then checked
by hand: the alert key is unique among open alerts only (a partial index on SQLite and PostgreSQL), so a gap
that closes and opens again later gets a new alert. APScheduler's own job store table (apscheduler_jobs) is
not created here: APScheduler creates it when a scheduler first starts, and env.py leaves it alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("age_band", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("open_end", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("responder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("competency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("emailed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("posted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.CheckConstraint("kind IN ('gap', 'training_expiry')", name="ck_alert_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_kind_resolved", "alert", ["kind", "resolved_at"], unique=False)
    op.create_index(
        "uq_alert_open_key",
        "alert",
        ["key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed')", name="ck_job_run_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_run_job_started", "job_run", ["job", "started_at"], unique=False)
    op.create_table(
        "forecast_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_forecast_snapshot_created_at", "forecast_snapshot", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_forecast_snapshot_created_at", table_name="forecast_snapshot")
    op.drop_table("forecast_snapshot")
    op.drop_index("ix_job_run_job_started", table_name="job_run")
    op.drop_table("job_run")
    op.drop_index("uq_alert_open_key", table_name="alert")
    op.drop_index("ix_alert_kind_resolved", table_name="alert")
    op.drop_table("alert")
