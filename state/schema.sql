-- schema.sql: the state store's numbered migrations, the one source of truth for its schema.
-- The Makefile turns this file into state/schema.sql.h (the C string schema_sql); store.c splits
-- it at the "-- migration N" lines and runs migrations N > the state's version, in order, inside
-- one BEGIN IMMEDIATE transaction. Never edit a released migration: append a new one and bump
-- STORE_SCHEMA_VERSION in store.h. Times are unix seconds (REAL) unless the column says _ms.

-- migration 1
-- meta: schema_version, lineage (random UUID, never changes), serial (bumped once per commit
-- that changed a resource row).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value
) WITHOUT ROWID;

-- One row per object; deposed = '' for the current object of an address, 'd1', 'd2'... for old
-- halves of replacements. JSON columns are compact text with sorted keys; sensitive values inside
-- inputs/outputs are {"$enc": "base64(iv|ciphertext|tag)"}.
CREATE TABLE resources (
    address   TEXT NOT NULL,
    deposed   TEXT NOT NULL DEFAULT '',
    type      TEXT NOT NULL,
    inputs    TEXT NOT NULL DEFAULT '{}',
    outputs   TEXT NOT NULL DEFAULT '{}',
    deps      TEXT NOT NULL DEFAULT '[]',
    sensitive TEXT NOT NULL DEFAULT '[]',
    run_id    TEXT,
    PRIMARY KEY (address, deposed)
) WITHOUT ROWID;

-- status: running, ok, failed, rolled_back, interrupted, recovered. pid_start is the process
-- start time from /proc (0 if unknown), so a recycled pid is not mistaken for the run.
CREATE TABLE runs (
    run_id    TEXT PRIMARY KEY,
    command   TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    pid_start INTEGER NOT NULL DEFAULT 0,
    host      TEXT NOT NULL,
    started   REAL NOT NULL,
    finished  REAL,
    status    TEXT NOT NULL
);

-- Every driver call: an 'intent' row before it, an 'ok' or 'failed' row after it.
CREATE TABLE journal (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL,
    address TEXT NOT NULL,
    action  TEXT NOT NULL,
    phase   TEXT NOT NULL CHECK (phase IN ('intent', 'ok', 'failed')),
    detail  TEXT,
    time    REAL NOT NULL
);
CREATE INDEX journal_by_run ON journal (run_id, address, action, seq);

-- The resources table as stored (still encrypted) when a run began, as one JSON array.
CREATE TABLE snapshots (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT NOT NULL,
    serial    INTEGER NOT NULL,
    created   REAL NOT NULL,
    resources INTEGER NOT NULL,
    rows      TEXT NOT NULL
);
CREATE INDEX snapshots_by_run ON snapshots (run_id, id);

-- The lease: exactly one row; run_id IS NULL when free.
CREATE TABLE lock (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    run_id    TEXT,
    holder    TEXT,
    host      TEXT,
    pid       INTEGER,
    pid_start INTEGER,
    command   TEXT,
    acquired  REAL,
    expires   REAL
);
INSERT INTO lock (id) VALUES (1);

-- migration 2
-- The spec's outputs as of the last successful apply (mesh output reads them; destroy clears
-- them). value is compact JSON; a sensitive one is {"$enc": ...} under associated data
-- "output/NAME".
CREATE TABLE outputs (
    name      TEXT PRIMARY KEY,
    value     TEXT NOT NULL,
    sensitive INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- migration 3
-- A checksum of each resource row (state/row_check.c: SHA-256 of address, type, inputs, outputs,
-- deps, sensitive, run_id), checked as the row is read, so a row changed behind mesh's back is an
-- error rather than a silently wrong plan. NULL: not known (shape is still checked).
ALTER TABLE resources ADD COLUMN sum TEXT;
UPDATE resources SET sum = mesh_row_sum(address, type, inputs, outputs, deps, sensitive, run_id);

-- migration 4
-- The connection a resource belongs to (the address of a kubernetes_connection, say), so that
-- refresh, delete, rollback and recovery reach the right cluster also once the spec no longer
-- names the resource. NULL: none. Part of the row's checksum when set (rows without one keep
-- their checksums).
ALTER TABLE resources ADD COLUMN connection TEXT;

-- migration 5
-- No table changes. A snapshot's rows may now be a reference, {"object": SHA-256, "bytes": N}, to
-- an object kept beside a remote state's base (state/sync_snap.c) instead of the JSON array: a
-- mesh before this version would take it for damage, so it refuses this schema instead ("upgrade
-- mesh").
