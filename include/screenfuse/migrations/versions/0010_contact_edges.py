"""Contact chains (issue 9): `contact_edge`, one row per record naming an index case (密接对象),
index person → contact person, with the 末次接触日期 and 流调编号 of the record; indexed by contact
and by index person (the chain view walks them) and by batch (a re-run takes its rows back).
Filled from the records already in the warehouse (each edge marked with its record's batch), with
the code of this release (screenfuse.contact_edges). Views: v_contact_chain,
v_contact_edges_unresolved (sql/views.sql)."""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_edge",
        sa.Column("source_record_id", sa.Text, primary_key=True),  # the record naming the index case
        sa.Column("contact_person_id", sa.Text, nullable=False),
        sa.Column("index_person_id", sa.Text),  # NULL: not resolved (see resolution)
        sa.Column("resolution", sa.Text, nullable=False),  # id_number | id_not_found | name_only | names_self
        sa.Column("contact_date", sa.Text),  # 末次接触日期, YYYY-MM-DD as the record gave it
        sa.Column("investigation_id", sa.Text),  # 流调编号
        sa.Column("batch_id", sa.Text, nullable=False))  # the batch that last wrote the row
    op.create_index("ix_contact_edge_contact", "contact_edge", ["contact_person_id"])
    op.create_index("ix_contact_edge_index", "contact_edge", ["index_person_id"])
    op.create_index("ix_contact_edge_batch", "contact_edge", ["batch_id"])  # a re-run takes its batch's rows back
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    from screenfuse import contact_edges, warehouse

    edges = contact_edges.all_edges(conn)
    if edges.empty:
        return
    batch_of = warehouse.rows_by_keys(conn, "source_record", "source_record_id", edges["source_record_id"],
                                      columns="source_record_id, batch_id").set_index("source_record_id")["batch_id"]
    warehouse.bulk_insert(conn, "contact_edge", edges.assign(batch_id=edges["source_record_id"].map(batch_of)))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
