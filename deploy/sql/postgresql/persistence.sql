-- DeepDeploy: PostgreSQL schema for Orleans' ADO.NET grain persistence provider
-- (Microsoft.Orleans.Persistence.AdoNet 10.4.2, invariant "Npgsql"). Needs main.sql.
--
-- Contract with the provider (the same as deploy/sql/sqlite/persistence.sql):
--   Parameters (every query): @GrainIdHash int, @GrainTypeHash int   hashes computed by the provider
--                             @GrainIdN0, @GrainIdN1 bigint            halves of a Guid/integer key (0 for string keys)
--                             @GrainIdExtensionString text             key extension or the string key; may be NULL
--                             @GrainTypeString text                    grain type / state name
--                             @ServiceId text                          ClusterOptions.ServiceId
--   Write also:               @PayloadBinary bytea (serialized state), @GrainStateVersion int (the grain's ETag;
--                             NULL when the grain believes no record exists)
--   Clear/Delete also:        @GrainStateVersion int
--   Read returns one row (PayloadBinary, Version) or none.
--   Write/Clear/Delete return exactly ONE row whose first column (NewGrainStateVersion) is:
--     success  -> the new version (1 for a first insert, else @GrainStateVersion + 1);
--     conflict -> @GrainStateVersion unchanged, or NULL when @GrainStateVersion was NULL.
--   The provider raises InconsistentStateException when that value equals the ETag it sent or is NULL,
--   so a conflict must never come back as "no row".
--
-- A grain's row is found by the two hashes (indexed) plus the clear-text key columns, which settle hash
-- collisions. Versions start at 1 and grow by 1 on every write and clear. Each query is one statement, so
-- it is atomic; two activations of one grain racing to insert are settled by the unique indexes below (the
-- loser's INSERT ... ON CONFLICT DO NOTHING inserts nothing and it answers NULL).
--
-- Idempotent: safe to run on every start.

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,     -- NULL after ClearStateAsync (the row and its version stay)
    ModifiedOn             timestamptz  NOT NULL, -- informational only
    Version                integer      NOT NULL
);

CREATE INDEX IF NOT EXISTS IX_OrleansStorage_Hashes ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- One row per grain state, so that a racing second insert for the same grain conflicts instead of adding a
-- duplicate. Two partial indexes, because NULL extension strings never collide in a plain unique index
-- (NULLS NOT DISTINCT would need PostgreSQL 15).
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain ON OrleansStorage
    (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
    WHERE GrainIdExtensionString IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_GrainNoExtension ON OrleansStorage
    (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1)
    WHERE GrainIdExtensionString IS NULL;

-- ReadFromStorageKey: current payload and version of one grain's state (no row: never written).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', $q$
SELECT s.PayloadBinary, s.Version
FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND s.ServiceId = @ServiceId;
$q$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- WriteToStorageKey: optimistic write.
--  * @GrainStateVersion NULL: first write; insert version 1 unless the row exists (then conflict: NULL).
--  * otherwise: update only if the row's Version still equals @GrainStateVersion, and bump it by one.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE OrleansStorage AS s
    SET PayloadBinary = @PayloadBinary, ModifiedOn = now(), Version = s.Version + 1
    WHERE @GrainStateVersion IS NOT NULL
      AND s.GrainIdHash = @GrainIdHash
      AND s.GrainTypeHash = @GrainTypeHash
      AND s.GrainIdN0 = @GrainIdN0
      AND s.GrainIdN1 = @GrainIdN1
      AND s.GrainTypeString = @GrainTypeString
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND s.ServiceId = @ServiceId
      AND s.Version = @GrainStateVersion
    RETURNING s.Version
), inserted AS (
    INSERT INTO OrleansStorage
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
         ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
           @ServiceId, @PayloadBinary, now(), 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version
)
SELECT COALESCE((SELECT Version FROM updated), (SELECT Version FROM inserted), @GrainStateVersion) AS NewGrainStateVersion;
$q$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- ClearStorageKey: keep the row, drop the payload, bump the version (only if the version matches).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', $q$
WITH cleared AS (
    UPDATE OrleansStorage AS s
    SET PayloadBinary = NULL, ModifiedOn = now(), Version = s.Version + 1
    WHERE @GrainStateVersion IS NOT NULL
      AND s.GrainIdHash = @GrainIdHash
      AND s.GrainTypeHash = @GrainTypeHash
      AND s.GrainIdN0 = @GrainIdN0
      AND s.GrainIdN1 = @GrainIdN1
      AND s.GrainTypeString = @GrainTypeString
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND s.ServiceId = @ServiceId
      AND s.Version = @GrainStateVersion
    RETURNING s.Version
)
SELECT COALESCE((SELECT Version FROM cleared), @GrainStateVersion) AS NewGrainStateVersion;
$q$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- DeleteStorageKey: used instead of ClearStorageKey when AdoNetGrainStorageOptions.DeleteStateOnClear is
-- true. Removes the row (only if the version matches) and answers like ClearStorageKey; the provider then
-- resets the grain's ETag to NULL, so its next write inserts a fresh row at version 1.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', $q$
WITH deleted AS (
    DELETE FROM OrleansStorage AS s
    WHERE @GrainStateVersion IS NOT NULL
      AND s.GrainIdHash = @GrainIdHash
      AND s.GrainTypeHash = @GrainTypeHash
      AND s.GrainIdN0 = @GrainIdN0
      AND s.GrainIdN1 = @GrainIdN1
      AND s.GrainTypeString = @GrainTypeString
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND s.ServiceId = @ServiceId
      AND s.Version = @GrainStateVersion
    RETURNING s.Version
)
SELECT COALESCE((SELECT Version + 1 FROM deleted), @GrainStateVersion) AS NewGrainStateVersion;
$q$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO DeepDeploySchema (Component, Revision) VALUES ('persistence', 1)
ON CONFLICT (Component) DO UPDATE SET Revision = excluded.Revision, AppliedOn = now();
