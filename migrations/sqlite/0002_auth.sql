-- Local accounts, groups, permissions and API tokens.

CREATE TABLE permission (
    codename TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE auth_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE group_permission (
    group_id INTEGER NOT NULL REFERENCES auth_group (id) ON DELETE CASCADE,
    permission TEXT NOT NULL REFERENCES permission (codename) ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission)
);

CREATE TABLE app_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined TEXT NOT NULL,
    last_login TEXT
);

CREATE TABLE user_group (
    user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES auth_group (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE user_permission (
    user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    permission TEXT NOT NULL REFERENCES permission (codename) ON DELETE CASCADE,
    PRIMARY KEY (user_id, permission)
);

-- The token itself is shown once; only its SHA-256 (hex) is stored.
CREATE TABLE api_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    expires TEXT NOT NULL,
    last_used TEXT
);
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE api_token_permission (
    token_id INTEGER NOT NULL REFERENCES api_token (id) ON DELETE CASCADE,
    permission TEXT NOT NULL REFERENCES permission (codename) ON DELETE CASCADE,
    PRIMARY KEY (token_id, permission)
);

-- Socorro's permissions (crashstats.*) and groups.
INSERT INTO permission (codename, name) VALUES
    ('view_pii', 'View Personal Identifiable Information'),
    ('view_rawdump', 'View Raw Dumps'),
    ('run_custom_queries', 'Run Custom Queries in Super Search'),
    ('run_long_queries', 'Run Long Queries'),
    ('reprocess_crashes', 'Reprocess Crashes'),
    ('upload_symbols', 'Upload Symbols Files'),
    ('view_exploitability', 'View Exploitability Results');

INSERT INTO auth_group (name) VALUES ('Hackers'), ('Hackers Plus');

INSERT INTO group_permission (group_id, permission)
    SELECT g.id, p.codename FROM auth_group g, permission p
    WHERE g.name = 'Hackers'
      AND p.codename IN ('view_pii', 'view_rawdump', 'run_long_queries', 'reprocess_crashes');

INSERT INTO group_permission (group_id, permission)
    SELECT g.id, p.codename FROM auth_group g, permission p
    WHERE g.name = 'Hackers Plus'
      AND p.codename IN ('view_pii', 'view_rawdump', 'run_custom_queries', 'run_long_queries', 'reprocess_crashes');
