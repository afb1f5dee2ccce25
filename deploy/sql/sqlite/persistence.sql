-- DeepDeploy: SQLite schema, part 2: grain state storage for Orleans' ADO.NET persistence
-- provider (Microsoft.Orleans.Persistence.AdoNet 10.4.2, invariant "System.Data.SQLite").
--
-- Contract with the provider (what it sends and what it reads back):
--   Parameters (every query): @GrainIdHash, @GrainTypeHash   signed 32-bit hashes computed by the provider
--                             @GrainIdN0, @GrainIdN1         64-bit halves of a Guid/integer key (0 for string keys)
--                             @GrainIdExtensionString        key extension or the string key; may be NULL
--                             @GrainTypeString               grain type name (generic arguments normalised)
--                             @ServiceId                     ClusterOptions.ServiceId
--   Write also:               @PayloadBinary (serialized state), @GrainStateVersion (the grain's ETag as an
--                             integer; NULL when the grain believes no record exists)
--   Clear/Delete also:        @GrainStateVersion
--   Read returns one row (PayloadBinary, Version) or none.
--   Write/Clear/Delete return exactly ONE row with one column NewGrainStateVersion:
--     success  -> the new version (1 for a first insert, else @GrainStateVersion + 1);
--     conflict -> @GrainStateVersion unchanged, or NULL when @GrainStateVersion was NULL.
--   The provider raises InconsistentStateException when the returned value equals the ETag it sent
--   or is NULL/empty, so a conflict must never return "no row" (that would be read as success).
--
-- A grain's row is identified by the two hashes (indexed) plus the clear-text key columns, which
-- resolve hash collisions. Versions start at 1 and grow by 1 on every write, clear and delete.
-- Each statement below is atomic on its own (SQLite autocommit); changes() is per connection and
-- reports the rows touched by the most recent INSERT/UPDATE/DELETE of this command.
--
-- Idempotent: safe to run on every start.

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdExtensionString TEXT    NULL,
    ServiceId              TEXT    NOT NULL,
    PayloadBinary          BLOB    NULL,     -- NULL after ClearStateAsync (the row and its version stay)
    ModifiedOn             TEXT    NOT NULL, -- informational only (UTC, ISO 8601)
    Version                INTEGER NULL      -- the ETag handed to grains, as text
);

CREATE INDEX IF NOT EXISTS IX_OrleansStorage_Hashes ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- ReadFromStorageKey: current payload and version of one grain's state (no row: never written).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT s.PayloadBinary AS PayloadBinary, s.Version AS Version
FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS @GrainIdExtensionString
  AND s.ServiceId = @ServiceId
LIMIT 1;
');

-- WriteToStorageKey: optimistic write.
--  * @GrainStateVersion IS NULL: first write; insert version 1 unless a row already exists (then conflict).
--  * otherwise: update the row only if its Version still equals @GrainStateVersion, bumping it by one.
-- Exactly one of the two SELECTs yields a row (they are gated on @GrainStateVersion being NULL or not).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage
    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
     ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
       @ServiceId, @PayloadBinary, strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), 1
WHERE @GrainStateVersion IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM OrleansStorage AS s
      WHERE s.GrainIdHash = @GrainIdHash
        AND s.GrainTypeHash = @GrainTypeHash
        AND s.GrainIdN0 = @GrainIdN0
        AND s.GrainIdN1 = @GrainIdN1
        AND s.GrainTypeString = @GrainTypeString
        AND s.GrainIdExtensionString IS @GrainIdExtensionString
        AND s.ServiceId = @ServiceId);

SELECT CASE WHEN changes() > 0 THEN 1 ELSE NULL END AS NewGrainStateVersion
WHERE @GrainStateVersion IS NULL;

UPDATE OrleansStorage
SET PayloadBinary = @PayloadBinary,
    ModifiedOn = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''),
    Version = Version + 1
WHERE @GrainStateVersion IS NOT NULL
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion;

SELECT CASE WHEN changes() > 0 THEN @GrainStateVersion + 1 ELSE @GrainStateVersion END AS NewGrainStateVersion
WHERE @GrainStateVersion IS NOT NULL;
');

-- ClearStorageKey: keep the row, drop the payload, bump the version (only if the version matches).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''),
    Version = Version + 1
WHERE @GrainStateVersion IS NOT NULL
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion;

SELECT CASE WHEN changes() > 0 THEN @GrainStateVersion + 1 ELSE @GrainStateVersion END AS NewGrainStateVersion;
');

-- DeleteStorageKey: used instead of ClearStorageKey when AdoNetGrainStorageOptions.DeleteStateOnClear
-- is true. Removes the row (only if the version matches); answers like ClearStorageKey, and the
-- provider then resets the grain's ETag to NULL so the next write inserts a fresh row at version 1.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE @GrainStateVersion IS NOT NULL
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion;

SELECT CASE WHEN changes() > 0 THEN @GrainStateVersion + 1 ELSE @GrainStateVersion END AS NewGrainStateVersion;
');

INSERT OR REPLACE INTO DeepDeploySchema (Component, Revision, AppliedOn)
VALUES ('persistence', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
