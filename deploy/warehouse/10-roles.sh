#!/bin/bash
# First start of the warehouse PostgreSQL (docker-entrypoint-initdb.d): the owner that migrates,
# the read/write role the runs use, the read-only role the BI tool uses, and their grants
# (docs/warehouse.md#postgresql). Passwords come from the environment (.env), never from here.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE screenfuse_owner LOGIN PASSWORD '${SCREENFUSE_OWNER_PASSWORD}';
CREATE ROLE screenfuse_rw LOGIN PASSWORD '${SCREENFUSE_RW_PASSWORD}';
CREATE ROLE screenfuse_bi LOGIN PASSWORD '${SCREENFUSE_BI_PASSWORD}';
CREATE DATABASE screenfuse OWNER screenfuse_owner;
REVOKE ALL ON DATABASE screenfuse FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE screenfuse TO screenfuse_rw;
GRANT CONNECT ON DATABASE screenfuse TO screenfuse_bi;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname screenfuse <<SQL
SET ROLE screenfuse_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO screenfuse_rw, screenfuse_bi;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO screenfuse_rw;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO screenfuse_bi;
SQL
