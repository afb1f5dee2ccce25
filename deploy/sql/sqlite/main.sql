-- DeepDeploy: SQLite schema, part 1 (applied in file-name order: main.sql, persistence.sql, reminders.sql).
--
-- Orleans' ADO.NET providers do not embed their SQL. At start-up each provider reads the text of
-- the statements it needs from the table below, by key, and executes them with named parameters.
-- This file creates that table; persistence.sql and reminders.sql fill in the keys their providers read.
--
-- Idempotent: safe to run on every start (CREATE ... IF NOT EXISTS; INSERT OR REPLACE for the queries).

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- Bookkeeping for our own schema: which DeepDeploy schema revision last ran on this file.
CREATE TABLE IF NOT EXISTS DeepDeploySchema
(
    Component TEXT NOT NULL PRIMARY KEY,
    Revision  INTEGER NOT NULL,
    AppliedOn TEXT NOT NULL
);

INSERT OR REPLACE INTO DeepDeploySchema (Component, Revision, AppliedOn)
VALUES ('main', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
