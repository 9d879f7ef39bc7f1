-- Products, product versions, featured versions, signatures, bug associations.
-- Timestamps are TEXT written by the application as RFC 3339 UTC
-- ("2026-01-02T03:04:05.123456+00:00", microsecond precision at most), which
-- sorts chronologically. Never use SQL defaults such as CURRENT_TIMESTAMP:
-- they write another format.

CREATE TABLE product (
    product_name TEXT PRIMARY KEY,
    sort INTEGER NOT NULL DEFAULT 100,
    is_active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE product_version (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_name TEXT NOT NULL,
    release_channel TEXT NOT NULL,
    major_version INTEGER NOT NULL,
    release_version TEXT NOT NULL,
    version_string TEXT NOT NULL,
    build_id TEXT NOT NULL,
    archive_url TEXT,
    UNIQUE (product_name, release_channel, build_id, version_string)
);
CREATE INDEX product_version_product_major ON product_version (product_name, major_version);

CREATE TABLE featured_version (
    product_name TEXT NOT NULL,
    version TEXT NOT NULL,
    sort INTEGER NOT NULL,
    PRIMARY KEY (product_name, version)
);

CREATE TABLE signature (
    signature TEXT PRIMARY KEY,
    first_build INTEGER NOT NULL,
    first_date TEXT NOT NULL
);

CREATE TABLE bug_association (
    bug_id INTEGER NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (bug_id, signature)
);
CREATE INDEX bug_association_signature ON bug_association (signature);
