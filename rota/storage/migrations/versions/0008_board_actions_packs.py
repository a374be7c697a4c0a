"""board actions and assurance packs: board_action (the board's actions, `rota actions`), assurance_pack
(each built pack, its file kept)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:30:00

Written by hand against rota/storage/models.py (BoardAction, AssurancePack): two new tables, nothing in the
existing ones changes. A closed action must say when it was closed (ck_board_action_closed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("owner_agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_board_action_status"),
        sa.CheckConstraint("status = 'open' OR closed_at IS NOT NULL", name="ck_board_action_closed"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_board_action_status_due", "board_action", ["status", "due"], unique=False)
    op.create_table(
        "assurance_pack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("audience IN ('commissioner', 'manager')", name="ck_assurance_pack_audience"),
        sa.CheckConstraint("size >= 0", name="ck_assurance_pack_size"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_assurance_pack_period_audience", "assurance_pack", ["period", "audience"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_assurance_pack_period_audience", table_name="assurance_pack")
    op.drop_table("assurance_pack")
    op.drop_index("ix_board_action_status_due", table_name="board_action")
    op.drop_table("board_action")
