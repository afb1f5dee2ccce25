-- DeepDeploy: PostgreSQL schema, part 1 (applied first; then the other files in file-name order:
-- clustering.sql, dataprotection.sql, persistence.sql, reminders.sql).
--
-- Orleans' ADO.NET providers do not embed their SQL. At start-up each provider reads the statements it
-- needs from the table below (SELECT QueryKey, QueryText FROM OrleansQuery) and later runs them by key
-- with named parameters (@Name). This file creates that table and our own bookkeeping table; the other
-- files add their tables and fill in the keys their provider reads.
--
-- Identifiers are unquoted, so PostgreSQL folds them to lower case (orleansquery, querykey, ...); the
-- providers' own unquoted SQL and Npgsql's case-insensitive column lookup both match that.
--
-- Idempotent: every file is safe to run again (CREATE ... IF NOT EXISTS, CREATE OR REPLACE, upserts).
-- DeepDeploy applies all files in one transaction under an advisory lock (silo/Storage/PostgresSchema.cs),
-- so several processes starting at once never race; they can also be run by hand with psql, in order.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- Which revision of each of our schema files last ran on this database.
CREATE TABLE IF NOT EXISTS DeepDeploySchema
(
    Component varchar(64) NOT NULL PRIMARY KEY,
    Revision  integer     NOT NULL,
    AppliedOn timestamptz NOT NULL DEFAULT now()
);

INSERT INTO DeepDeploySchema (Component, Revision) VALUES ('main', 1)
ON CONFLICT (Component) DO UPDATE SET Revision = excluded.Revision, AppliedOn = now();
