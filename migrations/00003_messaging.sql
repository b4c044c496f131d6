-- Messaging: contacts (residents by phone), submissions with references and
-- timelines, inbound/outbound messages, and open prompts.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION ar_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(
    regexp_replace(
        normalize(
            translate(
                regexp_replace(
                    lower(normalize(t, NFKC)),
                    '[\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]',
                    '', 'g'),
                U&'\0623\0625\0622\0671\0649\06CC\0626\0629\0624\06A9\0660\0661\0662\0663\0664\0665\0666\0667\0668\0669\06F0\06F1\06F2\06F3\06F4\06F5\06F6\06F7\06F8\06F9\060C\061B\061F',
                U&'\0627\0627\0627\0627\064A\064A\064A\0647\0648\0643' || '0123456789' || '0123456789' || ',;?'),
            NFKC),
        '[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+',
        ' ', 'g'),
    ' ');
-- +goose StatementEnd

-- A resident, keyed by phone number in E.164. Personal data: only roles that
-- may see it are shown the phone (tawasul.Role.SeesPersonalData).
CREATE TABLE contacts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone         text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    language      text NOT NULL DEFAULT 'ar' CHECK (language IN ('ar', 'en')),
    opted_out_at  timestamptz,           -- set by STOP; nothing is sent while set
    invalid_at    timestamptz,           -- Twilio said the number is invalid or not mobile
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-year counters behind references such as QS-26-0173.
CREATE TABLE reference_counters (
    year int PRIMARY KEY,
    last int NOT NULL
);

CREATE TABLE submissions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference       text NOT NULL UNIQUE,
    contact_id      bigint REFERENCES contacts (id),
    channel         text NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'voice', 'web')),
    kind            text NOT NULL CHECK (kind IN ('complaint', 'suggestion', 'idea', 'inquiry', 'praise', 'comment')),
    status          text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'routed', 'in_progress', 'answered', 'closed', 'rejected')),
    body            text NOT NULL,
    body_norm       text GENERATED ALWAYS AS (ar_norm(body)) STORED,
    language        text NOT NULL CHECK (language IN ('ar', 'en')),
    department_id   bigint REFERENCES departments (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submissions_contact_idx ON submissions (contact_id, created_at DESC);
CREATE INDEX submissions_created_idx ON submissions (created_at DESC, id DESC);
CREATE INDEX submissions_body_norm_trgm_idx ON submissions USING gin (body_norm gin_trgm_ops);

-- Every SMS/WhatsApp message in or out. An outbound message is a row first
-- (status 'pending'); the send_message job sends it once and stores Twilio's
-- SID. Inbound messages keep the TwiML reply they were given, so a replayed
-- webhook gets the same answer.
CREATE TABLE messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id    bigint NOT NULL REFERENCES contacts (id),
    submission_id bigint REFERENCES submissions (id),
    direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    channel       text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    body          text NOT NULL,
    purpose       text NOT NULL DEFAULT '',
    status        text NOT NULL,
    twilio_sid    text UNIQUE,
    error_code    int,
    reply         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_contact_idx ON messages (contact_id, created_at DESC);
CREATE INDEX messages_submission_idx ON messages (submission_id, created_at);

-- A submission's timeline.
CREATE TABLE submission_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES submissions (id),
    at            timestamptz NOT NULL DEFAULT now(),
    kind          text NOT NULL,
    message_id    bigint REFERENCES messages (id),
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX submission_events_submission_idx ON submission_events (submission_id, at);

-- A question Tawasul asked a contact and is waiting on. At most one is open.
CREATE TABLE prompts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id),
    kind       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    attempts   int NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    closed_at  timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX prompts_one_open_idx ON prompts (contact_id) WHERE closed_at IS NULL;

-- +goose Down
DROP TABLE prompts;
DROP TABLE submission_events;
DROP TABLE messages;
DROP TABLE submissions;
DROP TABLE reference_counters;
DROP TABLE contacts;
DROP FUNCTION ar_norm(text);
