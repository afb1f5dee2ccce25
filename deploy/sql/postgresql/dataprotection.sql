-- DeepDeploy: the ASP.NET Core Data Protection key ring, shared by every process of a cluster. Needs main.sql.
--
-- Gateways encrypt Hugging Face tokens with Data Protection when a deployment is created; silos (weights
-- resolution) and GPU nodes (downloads) decrypt them. So all of them must read the same key ring: with
-- PostgreSQL configured, DeepDeploy keeps it here (silo/Storage/PostgresXmlRepository.cs) instead of in
-- each process's data directory. One row per key, as Data Protection writes it (XML); keys are never
-- updated, only added (expired keys stay, as Data Protection expects). The key material is stored as
-- Data Protection produces it (not encrypted at rest): restrict access to this table like to the database.
--
-- Idempotent: safe to run on every start.

CREATE TABLE IF NOT EXISTS DeepDeployDataProtectionKeys
(
    FriendlyName varchar(256) NOT NULL PRIMARY KEY,
    Xml          text         NOT NULL,
    CreatedOn    timestamptz  NOT NULL DEFAULT now()
);

INSERT INTO DeepDeploySchema (Component, Revision) VALUES ('dataprotection', 1)
ON CONFLICT (Component) DO UPDATE SET Revision = excluded.Revision, AppliedOn = now();
