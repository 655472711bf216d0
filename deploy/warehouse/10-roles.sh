#!/bin/bash
# First start of the warehouse PostgreSQL (docker-entrypoint-initdb.d): the owner that migrates,
# the read/write role the runs use, the BI tool's role, which reads the analytics layer (schema
# analytics: pseudonyms, no names, ID numbers or phones) and nothing else, and their grants
# (docs/warehouse.md#postgresql, docs/security.md). Passwords come from the environment (.env), never from here.
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
GRANT USAGE ON SCHEMA public TO screenfuse_rw;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO screenfuse_rw;
CREATE SCHEMA IF NOT EXISTS analytics;
GRANT USAGE ON SCHEMA analytics TO screenfuse_bi;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO screenfuse_bi;
SQL
