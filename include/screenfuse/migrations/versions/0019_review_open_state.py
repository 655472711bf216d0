"""Open review items are found by index, not by reading every item ever queued. `match_review.state`
says whether an item is still for the desk: `open`, `superseded` (a later run queued the same
pair again), `decided` (a person decided the pair) or `apart` (a remembered "not the same person"
pair). The publish that makes an item not open sets it with `closed_batch_id` (a re-run of that
batch opens it again); the partial index holds the open items only. Existing items are closed the
way `v_match_review` used to filter them."""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.add_column("match_review", sa.Column("closed_batch_id", sa.Text))
    op.execute("""UPDATE match_review SET state = 'superseded', closed_batch_id = (
                      SELECT MIN(later.batch_id) FROM match_review later
                      WHERE later.left_record_id = match_review.left_record_id
                        AND later.right_record_id = match_review.right_record_id
                        AND later.batch_id > match_review.batch_id)
                  WHERE state = 'open' AND EXISTS (
                      SELECT 1 FROM match_review later WHERE later.left_record_id = match_review.left_record_id
                        AND later.right_record_id = match_review.right_record_id
                        AND later.batch_id > match_review.batch_id)""")
    for table, state, batch in (("match_decision", "decided", "COALESCE(d.applied_batch_id, d.batch_id)"),
                                ("match_cannot_link", "apart", "d.batch_id")):
        pair = ("((d.left_record_id = match_review.left_record_id AND d.right_record_id = match_review.right_record_id)"
                " OR (d.left_record_id = match_review.right_record_id AND d.right_record_id = match_review.left_record_id))")
        op.execute(f"""UPDATE match_review SET state = '{state}',
                          closed_batch_id = (SELECT MIN({batch}) FROM {table} d WHERE {pair})
                      WHERE state = 'open' AND EXISTS (SELECT 1 FROM {table} d WHERE {pair})""")
    op.create_index("ix_match_review_open", "match_review", ["match_probability"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_match_review_closed", "match_review", ["closed_batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
