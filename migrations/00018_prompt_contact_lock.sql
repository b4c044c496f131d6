-- Asking a resident a question and opting them out take one lock, so that
-- an opt-out never leaves a question open.
--
-- postgres.Store.PromptInsert serialises the questions asked of one
-- contact with a transaction-level advisory lock (not the contact's row,
-- which every inbound message locks). The opt-out paths did not take it:
-- a STOP or a 21610 landing while a question was being asked closed the
-- questions it could see, not the one still uncommitted, and the resident
-- was left opted out with a question open, whose answer their next "5"
-- would have been taken for. prompt_contact_lock is that lock, now taken
-- by PromptInsert, by Store.PromptCloseOpen (the STOP keyword and the send
-- job's 21610) and here by message_status_advance, each after it has
-- updated the contact's row: an opt-out waits for a question being asked
-- and then closes it, or the question, asked after, sees the opt-out.

-- +goose Up
-- +goose StatementBegin
-- prompt_contact_lock takes, until the transaction ends, the lock that
-- serialises opening and closing questions for contact p_contact_id.
CREATE FUNCTION prompt_contact_lock(p_contact_id bigint) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('prompt_contact:' || p_contact_id, 0))
$$;

-- message_status_advance as in migration 00017, taking
-- prompt_contact_lock before it closes the contact's questions.
CREATE OR REPLACE FUNCTION message_status_advance(p_sid text, p_status text, p_code int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_contact bigint;
BEGIN
    UPDATE messages SET status = p_status, error_code = coalesce(p_code, error_code), updated_at = now()
    WHERE twilio_sid = p_sid AND direction = 'outbound'
      AND message_status_rank(status) < message_status_rank(p_status)
      AND message_status_rank(status) < 9
    RETURNING contact_id INTO v_contact;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_code = 21610 THEN
        UPDATE contacts SET opted_out_at = coalesce(opted_out_at, now()) WHERE id = v_contact;
        PERFORM prompt_contact_lock(v_contact);
        UPDATE prompts SET closed_at = now(), answer = jsonb_build_object('closed', 'opted_out')
        WHERE contact_id = v_contact AND closed_at IS NULL;
    END IF;
    RETURN true;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION message_status_advance(p_sid text, p_status text, p_code int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_contact bigint;
BEGIN
    UPDATE messages SET status = p_status, error_code = coalesce(p_code, error_code), updated_at = now()
    WHERE twilio_sid = p_sid AND direction = 'outbound'
      AND message_status_rank(status) < message_status_rank(p_status)
      AND message_status_rank(status) < 9
    RETURNING contact_id INTO v_contact;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_code = 21610 THEN
        UPDATE contacts SET opted_out_at = coalesce(opted_out_at, now()) WHERE id = v_contact;
        UPDATE prompts SET closed_at = now(), answer = jsonb_build_object('closed', 'opted_out')
        WHERE contact_id = v_contact AND closed_at IS NULL;
    END IF;
    RETURN true;
END $$;
-- +goose StatementEnd
DROP FUNCTION prompt_contact_lock(bigint);
