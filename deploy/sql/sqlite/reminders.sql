-- DeepDeploy: SQLite schema for Orleans' ADO.NET reminders provider (Microsoft.Orleans.Reminders.AdoNet 10.4.2,
-- invariant "System.Data.SQLite"), so that the embedded mode has durable reminders too. Needs main.sql.
--
-- Parameters the provider sends: @ServiceId text, @GrainId text (GrainId.ToString()), @ReminderName text,
--   @StartTime (UTC date and time), @Period (milliseconds), @GrainHash (the grain's uniform hash as a signed int),
--   @BeginHash/@EndHash (a ring range), @Version (the reminder's ETag).
-- Columns it reads back by name: GrainId, ReminderName, StartTime, Period (a 64-bit integer), Version.
--
-- Ring ranges: a silo owns the hashes in (BeginHash, EndHash]. The provider compares them as signed ints and
-- uses ReadRangeRows1Key when Begin < End (a plain interval) and ReadRangeRows2Key otherwise (the range wraps).
--
-- Idempotent: safe to run on every start.

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    TEXT    NOT NULL,
    GrainId      TEXT    NOT NULL,
    ReminderName TEXT    NOT NULL,
    StartTime    TEXT    NOT NULL,
    Period       INTEGER NOT NULL,
    GrainHash    INTEGER NOT NULL,
    Version      INTEGER NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_OrleansRemindersTable_Hash ON OrleansRemindersTable (ServiceId, GrainHash);

-- Insert or replace one reminder; answers its new Version (the ETag).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash, Version = Version + 1
RETURNING Version AS Version;
');

-- The reminders of one grain.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
');

-- One reminder of one grain (no row: none).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
');

-- Reminders whose grain hash lies in (BeginHash, EndHash] (BeginHash < EndHash).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
');

-- The wrapped range: hashes above BeginHash or up to EndHash (BeginHash >= EndHash).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
');

-- Remove one reminder if its ETag still matches; answers the number of rows removed (1 yes, 0 no).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version;
SELECT changes() AS Succeeded;
');

-- Remove every reminder of a service (tests and tooling).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;
');

INSERT OR REPLACE INTO DeepDeploySchema (Component, Revision, AppliedOn)
VALUES ('reminders', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
