"""sign-in accounts: user_account (argon2id hashes, failed-attempt counter for the slow-down, OIDC rows)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:10:00

Generated with autogenerate against rota/storage/models.py (UserAccount), then checked by hand: the check
constraints (lower-case username, known role, a coordinator's agency) named as in the model.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_login_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("username = lower(username)", name="ck_user_account_lower"),
        sa.CheckConstraint(
            "role IN ('admin', 'cdop_manager', 'coordinator', 'commissioner')", name="ck_user_account_role"
        ),
        sa.CheckConstraint("role <> 'coordinator' OR agency IS NOT NULL", name="ck_user_account_agency"),
        sa.CheckConstraint("failed_attempts >= 0", name="ck_user_account_failures"),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("user_account")
