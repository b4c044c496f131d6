-- Foundation: departments, staff users, API tokens, web sessions, audit log.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Departments receive submissions. Codes match ../shared/testdata categories
-- so routing accuracy can be measured against the labelled samples.
CREATE TABLE departments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name_ar    text NOT NULL,
    name_en    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO departments (code, name_ar, name_en) VALUES
    ('roads',       'الطرق والأرصفة',            'Roads and pavements'),
    ('lighting',    'الإنارة',                    'Street lighting'),
    ('water',       'المياه والصرف والسيول',      'Water, drainage and flooding'),
    ('cleanliness', 'النظافة ومكافحة الحشرات',    'Cleanliness and pest control'),
    ('parks',       'الحدائق والتشجير',           'Parks and trees'),
    ('permits',     'الرخص والمخالفات',           'Permits and violations'),
    ('markets',     'الأسواق وسلامة الغذاء',      'Markets and food safety'),
    ('animals',     'الحيوانات السائبة',          'Stray animals'),
    ('facilities',  'المرافق العامة',             'Public facilities'),
    ('general',     'الخدمات العامة',             'General services');

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name                 text NOT NULL CHECK (name <> ''),
    password_hash        text NOT NULL,
    roles                text[] NOT NULL CHECK (
        cardinality(roles) > 0
        AND roles <@ ARRAY['admin', 'supervisor', 'agent', 'moderator', 'coordinator', 'department']),
    department_id        bigint REFERENCES departments (id),
    must_change_password boolean NOT NULL DEFAULT false,
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at      timestamptz,
    CONSTRAINT users_department_role CHECK (('department' = ANY (roles)) = (department_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (name <> ''),
    role         text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'moderator', 'coordinator', 'department')),
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Web sessions (github.com/alexedwards/scs/pgxstore's table).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Audit log: who did what, when, from where. Later features write here too.
-- actor is 'user:<id>', 'token:<id>', 'cli' or 'system'; subject names the
-- thing acted on (an e-mail for sign-ins, 'submission:<ref>' …).
CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    user_id bigint REFERENCES users (id),
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL DEFAULT '',
    ip      text NOT NULL DEFAULT '',
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_signin_idx ON audit_log (subject, at) WHERE action = 'signin.failed';

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE departments;
