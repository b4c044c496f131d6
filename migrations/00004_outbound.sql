-- Outbound messaging: what the send_message job needs, status callbacks
-- that arrive before their message's SID is known, alerts for admins, and
-- web links for prompts.

-- +goose Up
ALTER TABLE messages
    ADD COLUMN attempts      int NOT NULL DEFAULT 0,  -- CreateMessage calls made for this row
    ADD COLUMN first_attempt_at timestamptz,          -- before the first CreateMessage call
    ADD COLUMN error_message text,                    -- Twilio's text for error_code, for staff
    ADD COLUMN sent_at       timestamptz;             -- when Twilio accepted it
CREATE INDEX messages_pending_idx ON messages (id) WHERE status = 'pending';

-- Status callbacks for a SID no outbound row carries yet (Twilio can call
-- back before CreateMessage returns). The sender applies and deletes the row
-- when it stores the SID; both sides serialise on an advisory lock per SID.
CREATE TABLE message_status_early (
    twilio_sid  text PRIMARY KEY,
    status      text NOT NULL,
    error_code  int,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Problems an admin must fix (Twilio credentials, sender, geo permissions).
-- One open alert per kind+code; repeats bump its count.
CREATE TABLE alerts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    code        int NOT NULL DEFAULT 0,
    message     text NOT NULL,
    count       int NOT NULL DEFAULT 1,
    first_at    timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by bigint REFERENCES users (id)
);
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (kind, code) WHERE resolved_at IS NULL;

-- A prompt sent by SMS carries a link with this token, so it can also be
-- answered on the web (Saudi routes do not take SMS replies on every sender).
ALTER TABLE prompts
    ADD COLUMN token        text UNIQUE,
    ADD COLUMN submission_id bigint REFERENCES submissions (id),
    ADD COLUMN answer       jsonb,
    ADD COLUMN answered_via text CHECK (answered_via IN ('sms', 'whatsapp', 'web'));

-- +goose Down
ALTER TABLE prompts DROP COLUMN answered_via, DROP COLUMN answer, DROP COLUMN submission_id, DROP COLUMN token;
DROP TABLE alerts;
DROP TABLE message_status_early;
DROP INDEX messages_pending_idx;
ALTER TABLE messages DROP COLUMN sent_at, DROP COLUMN error_message, DROP COLUMN first_attempt_at, DROP COLUMN attempts;
