"""responder phone numbers: responder.phone (optional, as written, e.g. `07700 900123`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 11:50:00

Written by hand: one nullable column, so existing responders have no phone number until one is imported
or entered.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responder") as batch:
        batch.add_column(sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responder") as batch:
        batch.drop_column("phone")
