"""An old 15-digit ID is no longer a distinct key (docs/matching.md, "Chinese comparators"): its
check digit is computed when it is converted to 18 digits, so a digit typed wrong gave a number
that looked valid and kept the person apart from their own 18-digit ID for good. Stored records
converted from 15 digits lose their `id_trusted`; a later run that touches them compares the
number tolerantly, as it does one failing its check."""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    untrust_converted(op.get_bind())


def untrust_converted(conn) -> None:
    """Also after revision 0002's backfill, which reads stored IDs without their status."""
    conn.exec_driver_sql(
        "UPDATE match_record SET id_trusted = '' WHERE id_trusted <> '' AND record_id IN "
        "(SELECT source_record_id FROM source_record WHERE id_status = 'converted_15')")


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
