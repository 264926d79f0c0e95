-- The first schema. Names are compared byte by byte (COLLATE "C") so that
-- ListFunctions orders them as SQLite does whatever the database locale.

-- +goose Up
CREATE TABLE users (
	id UUID PRIMARY KEY,
	email TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE tokens (
	hash TEXT PRIMARY KEY,
	user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind VARCHAR(50) NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user_id ON tokens (user_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE functions (
	id UUID PRIMARY KEY,
	name VARCHAR(255) COLLATE "C" NOT NULL UNIQUE,
	owner_id UUID NOT NULL REFERENCES users (id),
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	status VARCHAR(50) NOT NULL,
	metadata JSONB NOT NULL DEFAULT '{}',
	-- No foreign key: deployments already point at their function, and a
	-- cycle would make deleting a function depend on constraint order.
	active_deployment_id UUID
);
CREATE INDEX functions_owner_name ON functions (owner_id, name);

CREATE TABLE deployments (
	id UUID PRIMARY KEY,
	function_id UUID NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	status VARCHAR(50) NOT NULL,
	runtime VARCHAR(50) NOT NULL,
	source_hash TEXT NOT NULL DEFAULT '',
	archive_key TEXT NOT NULL DEFAULT '',
	image_ref TEXT NOT NULL DEFAULT '',
	config JSONB NOT NULL DEFAULT '{}',
	build_log TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	claimed_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	started_at TIMESTAMPTZ,
	finished_at TIMESTAMPTZ,
	UNIQUE (function_id, version)
);
CREATE INDEX deployments_queued ON deployments (created_at, id) WHERE status = 'queued';
CREATE INDEX deployments_building ON deployments (claimed_by, started_at) WHERE status = 'building';

CREATE TABLE executions (
	id UUID PRIMARY KEY,
	function_id UUID NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	started_at TIMESTAMPTZ NOT NULL,
	completed_at TIMESTAMPTZ,
	status VARCHAR(50) NOT NULL,
	logs TEXT NOT NULL DEFAULT '',
	result JSONB NOT NULL DEFAULT '{}',
	deployment_id UUID,
	request_id TEXT NOT NULL DEFAULT '',
	instance_id TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL DEFAULT '',
	path TEXT NOT NULL DEFAULT '',
	duration_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
	http_status INTEGER NOT NULL DEFAULT 0,
	cold_start BOOLEAN NOT NULL DEFAULT FALSE,
	request_bytes BIGINT NOT NULL DEFAULT 0,
	response_bytes BIGINT NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX executions_function_started ON executions (function_id, started_at DESC, id DESC);

CREATE TABLE log_lines (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	function_id UUID NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	instance_id TEXT NOT NULL DEFAULT '',
	stream VARCHAR(16) NOT NULL,
	time TIMESTAMPTZ NOT NULL,
	text TEXT NOT NULL
);
CREATE INDEX log_lines_function_id ON log_lines (function_id, id);

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE log_lines;
DROP TABLE executions;
DROP TABLE deployments;
DROP TABLE functions;
DROP TABLE tokens;
DROP TABLE users;
