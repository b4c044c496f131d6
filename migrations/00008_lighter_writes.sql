-- Cheaper writes on the inbound path, found by profiling PostgreSQL under
-- `make bench-sms` (docs/benchmarks.md):
--   1. submissions.body_norm was a generated column: every follow-up that
--      appends to a submission's body normalised the whole, growing body
--      again, and every statement writing submissions re-read the
--      expression from the catalog. A trigger now keeps it, normalising only
--      the appended text when a follow-up adds a line.
--   2. inbound_store was a SQL function, which PostgreSQL parses and plans
--      again on every call; it is PL/pgSQL now, whose plan is cached.
--   3. messages.twilio_sid and messages.idempotency_key are unique only
--      where set: most rows have no key and the TwiML replies have no SID,
--      so their NULLs no longer go into the indexes.

-- +goose Up
ALTER TABLE submissions ALTER COLUMN body_norm DROP EXPRESSION;

-- +goose StatementBegin
-- submissions_body_norm keeps body_norm = ar_norm(body). When an update
-- only appends a line to body (as a follow-up does), only that line is
-- normalised: ar_norm of text joined at a line break is the two parts'
-- ar_norm joined by one space. body_norm cannot be set by hand.
CREATE FUNCTION submissions_body_norm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.body IS NOT DISTINCT FROM OLD.body THEN
        NEW.body_norm := OLD.body_norm;
    ELSIF TG_OP = 'UPDATE' AND starts_with(NEW.body, OLD.body || E'\n') THEN
        NEW.body_norm := concat_ws(' ', nullif(OLD.body_norm, ''),
            nullif(ar_norm(substr(NEW.body, length(OLD.body) + 1)), ''));
    ELSE
        NEW.body_norm := ar_norm(NEW.body);
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION inbound_store(p_contact_id bigint, p_channel text, p_sid text, p_body text,
    p_submission_id bigint, p_reply text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
BEGIN
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid, reply)
    VALUES (p_contact_id, p_submission_id, 'inbound', p_channel, p_body, 'received', p_sid, p_reply)
    RETURNING id INTO stored;
    RETURN stored;
END $$;
-- +goose StatementEnd

CREATE TRIGGER submissions_body_norm BEFORE INSERT OR UPDATE OF body, body_norm ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_body_norm();

ALTER TABLE messages DROP CONSTRAINT messages_twilio_sid_key;
CREATE UNIQUE INDEX messages_twilio_sid_key ON messages (twilio_sid) WHERE twilio_sid IS NOT NULL;
ALTER TABLE messages DROP CONSTRAINT messages_idempotency_key_key;
CREATE UNIQUE INDEX messages_idempotency_key_key ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX messages_idempotency_key_key;
ALTER TABLE messages ADD CONSTRAINT messages_idempotency_key_key UNIQUE (idempotency_key);
DROP INDEX messages_twilio_sid_key;
ALTER TABLE messages ADD CONSTRAINT messages_twilio_sid_key UNIQUE (twilio_sid);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inbound_store(p_contact_id bigint, p_channel text, p_sid text, p_body text,
    p_submission_id bigint, p_reply text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid, reply)
    VALUES (p_contact_id, p_submission_id, 'inbound', p_channel, p_body, 'received', p_sid, p_reply)
    RETURNING id;
$$;
-- +goose StatementEnd

DROP TRIGGER submissions_body_norm ON submissions;
DROP FUNCTION submissions_body_norm();
ALTER TABLE submissions DROP COLUMN body_norm;
ALTER TABLE submissions ADD COLUMN body_norm text GENERATED ALWAYS AS (ar_norm(body)) STORED;
CREATE INDEX submissions_body_norm_trgm_idx ON submissions USING gin (body_norm gin_trgm_ops);
