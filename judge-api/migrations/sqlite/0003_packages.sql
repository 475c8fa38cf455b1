-- Problem packages by content: the hash of a canonical tar of the package's
-- files. Every node grades a version against the same bytes; old versions
-- stay for jobs that were accepted against them.
CREATE TABLE packages (
    hash       TEXT PRIMARY KEY,
    archive    BLOB NOT NULL,
    size       INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
-- The current version of each problem name, and its description.
CREATE TABLE problems (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL REFERENCES packages (hash),
    info       TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
