-- Cheaper writes on the inbound path, found by profiling PostgreSQL under
-- `make bench-sms` (docs/benchmarks.md):
--   1. submissions.body_norm was a generated column: every follow-up that
--      appends to a submission's body normalised the whole, growing body
--      again, and every statement writing submissions re-read the
--      expression from the catalog. A trigger now keeps it, normalising only
--      the appended text when a follow-up adds a line.
--   2. inbound_store was a SQL function, which PostgreSQL parses and plans
--      again on every call; it is PL/pgSQL now, whose plan is cached.
--   3. The messages of the common path (the resident's, and the TwiML
--      reply) no longer get a submission_events row each: the timeline
--      already shows every message linked to a submission
--      (Store.SubmissionTimeline), so those rows only repeated it. Events
--      are for what is not a message (created, routed, status changes) or
--      says more than the message does (who wrote a staff reply).

-- +goose Up
ALTER TABLE submissions ALTER COLUMN body_norm DROP EXPRESSION;

-- +goose StatementBegin
-- submissions_body_norm keeps body_norm = ar_norm(body). When an update
-- only appends a line to body (as a follow-up does), only that line is
-- normalised: ar_norm of text joined at a line break is the two parts'
-- ar_norm joined by one space. An update that sets body_norm to anything
-- normalises the whole body again, so after a change to ar_norm
-- `UPDATE submissions SET body_norm = NULL` brings every row up to date.
CREATE FUNCTION submissions_body_norm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.body IS NOT DISTINCT FROM OLD.body
            AND NEW.body_norm IS NOT DISTINCT FROM OLD.body_norm THEN
        NULL; -- unchanged
    ELSIF TG_OP = 'UPDATE' AND NEW.body_norm IS NOT DISTINCT FROM OLD.body_norm
            AND starts_with(NEW.body, OLD.body || E'\n') THEN
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

-- reply_store and inbound_file as in migration 00005, without the
-- submission_events rows for messages (see 3 above).
CREATE OR REPLACE FUNCTION reply_store(p_contact_id bigint, p_submission_id bigint, p_channel text, p_reply text,
    p_purpose text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_reply = '' THEN
        RETURN;
    END IF;
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, purpose, status)
    VALUES (p_contact_id, p_submission_id, 'outbound', p_channel, p_reply, p_purpose, 'replied');
END $$;

CREATE OR REPLACE FUNCTION inbound_file(p_contact_id bigint, p_channel text, p_sid text, p_body text, p_kind text,
    p_lang text, p_followup_since timestamptz, p_prefix text, p_year int, p_reply_new text, p_reply_detail text,
    OUT submission_id bigint, OUT reference text, OUT created boolean, OUT reply text, OUT message_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.id, s.reference INTO submission_id, reference FROM submissions s
    WHERE s.contact_id = p_contact_id AND s.status = 'new' AND s.last_message_at >= p_followup_since
    ORDER BY s.created_at DESC LIMIT 1 FOR UPDATE;
    created := NOT FOUND;
    IF created THEN
        reference := reference_next(p_prefix, p_year);
        INSERT INTO submissions AS s (reference, contact_id, channel, kind, body, language)
        VALUES (inbound_file.reference, p_contact_id, p_channel, p_kind, p_body, p_lang)
        RETURNING s.id INTO submission_id;
        reply := replace(p_reply_new, '{ref}', reference);
        message_id := inbound_store(p_contact_id, p_channel, p_sid, p_body, submission_id, reply);
        INSERT INTO submission_events (submission_id, kind) VALUES (inbound_file.submission_id, 'created');
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'ack');
    ELSE
        UPDATE submissions s SET body = s.body || E'\n' || p_body, updated_at = now(), last_message_at = now()
        WHERE s.id = inbound_file.submission_id;
        reply := replace(p_reply_detail, '{ref}', reference);
        message_id := inbound_store(p_contact_id, p_channel, p_sid, p_body, submission_id, reply);
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'detail_ack');
    END IF;
END $$;
-- +goose StatementEnd

CREATE TRIGGER submissions_body_norm BEFORE INSERT OR UPDATE OF body, body_norm ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_body_norm();

-- +goose Down

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inbound_store(p_contact_id bigint, p_channel text, p_sid text, p_body text,
    p_submission_id bigint, p_reply text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid, reply)
    VALUES (p_contact_id, p_submission_id, 'inbound', p_channel, p_body, 'received', p_sid, p_reply)
    RETURNING id;
$$;

CREATE OR REPLACE FUNCTION reply_store(p_contact_id bigint, p_submission_id bigint, p_channel text, p_reply text,
    p_purpose text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    reply_id bigint;
BEGIN
    IF p_reply = '' THEN
        RETURN;
    END IF;
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, purpose, status)
    VALUES (p_contact_id, p_submission_id, 'outbound', p_channel, p_reply, p_purpose, 'replied')
    RETURNING id INTO reply_id;
    IF p_submission_id IS NOT NULL THEN
        INSERT INTO submission_events (submission_id, kind, message_id) VALUES (p_submission_id, 'message_out', reply_id);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION inbound_file(p_contact_id bigint, p_channel text, p_sid text, p_body text, p_kind text,
    p_lang text, p_followup_since timestamptz, p_prefix text, p_year int, p_reply_new text, p_reply_detail text,
    OUT submission_id bigint, OUT reference text, OUT created boolean, OUT reply text, OUT message_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.id, s.reference INTO submission_id, reference FROM submissions s
    WHERE s.contact_id = p_contact_id AND s.status = 'new' AND s.last_message_at >= p_followup_since
    ORDER BY s.created_at DESC LIMIT 1 FOR UPDATE;
    created := NOT FOUND;
    IF created THEN
        reference := reference_next(p_prefix, p_year);
        INSERT INTO submissions AS s (reference, contact_id, channel, kind, body, language)
        VALUES (inbound_file.reference, p_contact_id, p_channel, p_kind, p_body, p_lang)
        RETURNING s.id INTO submission_id;
        reply := replace(p_reply_new, '{ref}', reference);
        message_id := inbound_store(p_contact_id, p_channel, p_sid, p_body, submission_id, reply);
        INSERT INTO submission_events (submission_id, kind, message_id)
        VALUES (inbound_file.submission_id, 'created', NULL), (inbound_file.submission_id, 'message_in', inbound_file.message_id);
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'ack');
    ELSE
        UPDATE submissions s SET body = s.body || E'\n' || p_body, updated_at = now(), last_message_at = now()
        WHERE s.id = inbound_file.submission_id;
        reply := replace(p_reply_detail, '{ref}', reference);
        message_id := inbound_store(p_contact_id, p_channel, p_sid, p_body, submission_id, reply);
        INSERT INTO submission_events (submission_id, kind, message_id)
        VALUES (inbound_file.submission_id, 'detail_added', inbound_file.message_id);
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'detail_ack');
    END IF;
END $$;
-- +goose StatementEnd

DROP TRIGGER submissions_body_norm ON submissions;
DROP FUNCTION submissions_body_norm();
ALTER TABLE submissions DROP COLUMN body_norm;
ALTER TABLE submissions ADD COLUMN body_norm text GENERATED ALWAYS AS (ar_norm(body)) STORED;
CREATE INDEX submissions_body_norm_trgm_idx ON submissions USING gin (body_norm gin_trgm_ops);
