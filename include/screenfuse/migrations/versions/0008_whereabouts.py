"""Time arithmetic for the command centre's daily views (whereabouts, 应收尽收, 新增/存量/清零,
倒查: docs/warehouse.md). The views are one text for both databases and count hours and local days
with SQLite's own `julianday(text)` and `datetime(text, modifier)`; on PostgreSQL this revision
creates the two functions with the same names and meaning for the warehouse's time texts
('YYYY-MM-DD HH:MM:SS' local, 'YYYY-MM-DDTHH:MM:SSZ' UTC, 'YYYY-MM-DD'); text that is not a time
gives NULL, as in SQLite. SQLite needs nothing. No table changes."""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# the leading date decides whether the text is a time at all (SQLite's functions answer NULL)
_TIMESTAMP = ("CASE WHEN t ~ '^\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?Z?$' "
              "THEN CAST(replace(replace(t, 'T', ' '), 'Z', '') AS timestamp) END")

JULIANDAY = (f"CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision LANGUAGE sql IMMUTABLE AS "
             f"$$ SELECT EXTRACT(EPOCH FROM {_TIMESTAMP})::double precision / 86400.0 + 2440587.5 $$")
DATETIME = (f"CREATE OR REPLACE FUNCTION datetime(t text, modifier text) RETURNS text LANGUAGE sql IMMUTABLE AS "
            f"$$ SELECT to_char({_TIMESTAMP} + CAST(modifier AS interval), 'YYYY-MM-DD HH24:MI:SS') $$")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":  # driver SQL: ':MI' of the format is no bound parameter
        conn.exec_driver_sql(JULIANDAY)
        conn.exec_driver_sql(DATETIME)


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
