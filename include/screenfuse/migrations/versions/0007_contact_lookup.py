"""Close contacts and their index cases fused in the same run (docs/policy.md, contacts): indexes
to find, by ID number, the records naming an index case (source_record.contact_of_id) and the
records of the index case itself (source_record.id_number)."""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_source_record_contact_of", "source_record", ["contact_of_id"])
    op.create_index("ix_source_record_id_number", "source_record", ["id_number"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
