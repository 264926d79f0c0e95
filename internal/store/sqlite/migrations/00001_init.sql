-- The first schema. Tables are STRICT so that SQLite checks column types as
-- PostgreSQL does. Times are TEXT in a fixed-width UTC layout with
-- microseconds (see sqlstore.TimeText), so text order is time order. UUIDs
-- are TEXT in canonical lowercase form, checked by the store.

-- +goose Up
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE tokens (
	hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (length(kind) <= 50),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX tokens_user_id ON tokens (user_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE functions (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE CHECK (length(name) <= 255),
	owner_id TEXT NOT NULL REFERENCES users (id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	status TEXT NOT NULL CHECK (length(status) <= 50),
	metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
	-- No foreign key: deployments already point at their function, and a
	-- cycle would make deleting a function depend on constraint order.
	active_deployment_id TEXT
) STRICT;
CREATE INDEX functions_owner_name ON functions (owner_id, name);

CREATE TABLE deployments (
	id TEXT PRIMARY KEY,
	function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	status TEXT NOT NULL CHECK (length(status) <= 50),
	runtime TEXT NOT NULL CHECK (length(runtime) <= 50),
	source_hash TEXT NOT NULL DEFAULT '',
	archive_key TEXT NOT NULL DEFAULT '',
	image_ref TEXT NOT NULL DEFAULT '',
	config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
	build_log TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	claimed_by TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	started_at TEXT,
	finished_at TEXT,
	UNIQUE (function_id, version)
) STRICT;
CREATE INDEX deployments_queued ON deployments (created_at, id) WHERE status = 'queued';
CREATE INDEX deployments_building ON deployments (claimed_by, started_at) WHERE status = 'building';

CREATE TABLE executions (
	id TEXT PRIMARY KEY,
	function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	started_at TEXT NOT NULL,
	completed_at TEXT,
	status TEXT NOT NULL CHECK (length(status) <= 50),
	logs TEXT NOT NULL DEFAULT '',
	result TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(result)),
	deployment_id TEXT,
	request_id TEXT NOT NULL DEFAULT '',
	instance_id TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL DEFAULT '',
	path TEXT NOT NULL DEFAULT '',
	duration_ms REAL NOT NULL DEFAULT 0,
	http_status INTEGER NOT NULL DEFAULT 0,
	cold_start INTEGER NOT NULL DEFAULT 0,
	request_bytes INTEGER NOT NULL DEFAULT 0,
	response_bytes INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX executions_function_started ON executions (function_id, started_at DESC, id DESC);

-- AUTOINCREMENT keeps ids from being reused after the newest lines are
-- deleted, so a reader's AfterID cursor never skips a new line.
CREATE TABLE log_lines (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	instance_id TEXT NOT NULL DEFAULT '',
	stream TEXT NOT NULL CHECK (length(stream) <= 16),
	time TEXT NOT NULL,
	text TEXT NOT NULL
) STRICT;
CREATE INDEX log_lines_function_id ON log_lines (function_id, id);

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE settings;
DROP TABLE log_lines;
DROP TABLE executions;
DROP TABLE deployments;
DROP TABLE functions;
DROP TABLE tokens;
DROP TABLE users;
