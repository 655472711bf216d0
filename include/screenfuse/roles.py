"""Who may read what on a PostgreSQL warehouse: the roles and row-level security that
`screenfuse db roles` sets up.

- the pipeline role (`screenfuse_rw`, made by the administrator): reads and writes rows, owns
  nothing, so it cannot alter the schema;
- the analytics role (`screenfuse_bi`): only the schema `analytics` (pseudonyms, no identifiers);
- the district role (`<prefix>_district`): every table and view;
- one role per street office (`<prefix>_street_<street_code>`): `push_item` and `person` rows of
  its own street and nothing else, enforced by row-level security on the tables themselves.

Row-level security is FORCEd, so the tables' owner is held to the policies too (the owner's own
policy lets it see everything: the analytics views run with its rights). A street office reads
the tables directly, never through a view that runs with the owner's rights. The roles made here
are group roles without login: give a person's login one of them (`GRANT … TO alice`).
Idempotent: run it again after adding a street office to the gazetteer.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from screenfuse.gazetteer import load_gazetteer

# the tables a street office reads, and the column that says whose row it is
STREET_TABLES = {"push_item": "street", "person": "responsible_list"}
MAP_TABLE = "street_office_role"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RolesError(ValueError):
    """The roles cannot be set up as asked; the message says what to do."""


def _role(name: str) -> str:
    if not _NAME.match(name):
        raise RolesError(f"role name {name!r}: use lower-case letters, digits and _ (at most 63)")
    return name


def _quoted(name: str) -> str:
    """An identifier as SQL text (a database or owner name may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def street_roles(prefix: str) -> dict[str, str]:
    """Street office → its role name, from the gazetteer's street codes."""
    streets = load_gazetteer().communities.drop_duplicates("street")
    return {street: _role(f"{prefix}_street_{str(code).lower()}")
            for street, code in zip(streets["street"], streets["street_code"])}


def set_up_roles(conn: sa.Connection, prefix: str = "screenfuse", pipeline: str = "screenfuse_rw",
                 analytics: str = "screenfuse_bi") -> dict[str, int]:
    """Create the district and street office roles (if missing), the grants, and the row-level
    security of STREET_TABLES. `conn`: the tables' owner with CREATEROLE, or a superuser."""
    if conn.dialect.name != "postgresql":
        raise RolesError("roles and row-level security need PostgreSQL; a SQLite warehouse is one file: "
                         "protect it with the file's permissions")
    prefix, pipeline, analytics = _role(prefix), _role(pipeline), _role(analytics)
    district, streets = _role(f"{prefix}_district"), street_roles(prefix)
    if not streets:
        raise RolesError("the gazetteer names no street office (SCREENFUSE_GAZETTEER): no role to make")
    owner = conn.exec_driver_sql("SELECT tableowner FROM pg_tables WHERE tablename = 'person' "
                                 "AND schemaname = current_schema()").scalar()
    if owner is None:
        raise RolesError('the warehouse has no tables yet: run "screenfuse db upgrade" first')
    existing = {r[0] for r in conn.exec_driver_sql("SELECT rolname FROM pg_roles")}
    for needed in (pipeline, analytics):
        if needed not in existing:
            raise RolesError(f"role {needed} does not exist: create it with a login first (docs/warehouse.md#postgresql)")
    for role in [district, *streets.values()]:
        if role not in existing:
            conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
    run = conn.exec_driver_sql
    # the tables whose row security changes are locked first: the grants below rewrite their
    # catalog rows, and an autovacuum that analyses one of them after a run waits for those rows
    # while holding the lock ALTER TABLE needs (a deadlock PostgreSQL breaks by failing this
    # command); locked first, PostgreSQL cancels such an autovacuum instead
    run(f"LOCK TABLE {', '.join(STREET_TABLES)} IN ACCESS EXCLUSIVE MODE")
    database = conn.exec_driver_sql("SELECT current_database()").scalar()
    owner = _quoted(owner)
    run(f'GRANT CONNECT ON DATABASE {_quoted(database)} TO {district}, {", ".join(streets.values())}')
    # the district reads everything; a street office its two tables (filtered below) and the map
    run(f"GRANT USAGE ON SCHEMA public TO {district}")
    run(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {district}")
    run(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {district}")
    run(f"CREATE TABLE IF NOT EXISTS {MAP_TABLE} (role_name TEXT PRIMARY KEY, street TEXT NOT NULL)")
    run(f"DELETE FROM {MAP_TABLE}")
    conn.execute(sa.text(f"INSERT INTO {MAP_TABLE} (role_name, street) VALUES (:r, :s)"),
                 [{"r": role, "s": street} for street, role in streets.items()])
    every_street = ", ".join(streets.values())
    run(f"GRANT USAGE ON SCHEMA public TO {every_street}")
    run(f"GRANT SELECT ON {MAP_TABLE}, {', '.join(STREET_TABLES)} TO {every_street}")
    # the map says who sees what: nobody but its owner changes it (the owner's default privileges
    # would otherwise give the pipeline role INSERT, UPDATE and DELETE on it)
    run(f"REVOKE ALL ON {MAP_TABLE} FROM PUBLIC, {pipeline}, {analytics}")
    run(f"GRANT SELECT ON {MAP_TABLE} TO {pipeline}")
    for table, column in STREET_TABLES.items():
        run(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        run(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for name in ("screenfuse_all", "screenfuse_read_all", "screenfuse_own_street"):
            run(f"DROP POLICY IF EXISTS {name} ON {table}")
        run(f"CREATE POLICY screenfuse_all ON {table} TO {owner}, {pipeline} USING (true) WITH CHECK (true)")
        run(f"CREATE POLICY screenfuse_read_all ON {table} FOR SELECT TO {district} USING (true)")
        run(f"CREATE POLICY screenfuse_own_street ON {table} FOR SELECT TO {every_street} USING ({column} IN "
            f"(SELECT street FROM {MAP_TABLE} WHERE pg_has_role(current_user, role_name, 'USAGE')))")
    return {"street_roles": len(streets), "tables_with_row_security": len(STREET_TABLES)}
