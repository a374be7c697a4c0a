"""sign-in sessions: user_session (server-side session records), user_account.security_stamp

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00

Generated with autogenerate against rota/storage/models.py (UserSession, UserAccount.security_stamp), then
checked by hand: the new column has a server default so that existing accounts get stamp 1, and the
session rows go with their account (ON DELETE CASCADE).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(
            sa.Column("security_stamp", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    op.create_table(
        "user_session",
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stamp", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("handoff_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("handoff_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("method IN ('password', 'oidc')", name="ck_user_session_method"),
        sa.ForeignKeyConstraint(["username"], ["user_account.username"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
        sa.UniqueConstraint("handoff_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_user_session_last_seen_at", "user_session", ["last_seen_at"], unique=False)
    op.create_index("ix_user_session_username", "user_session", ["username"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_session_username", table_name="user_session")
    op.drop_index("ix_user_session_last_seen_at", table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("security_stamp")
