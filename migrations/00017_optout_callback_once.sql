-- A 21610 status callback opts the resident out only when it moves the
-- message's status, and closes their open question as the REST path does.
--
-- Until now message_status_advance opted the contact out on every callback
-- carrying 21610, including a repeat of one already applied. Twilio
-- repeats callbacks; a resident who sent START after the first one was
-- opted out again by the repeat, and from then on Tawasul refused every
-- message to them. And the question a resident had open stayed open after
-- a callback opted them out (jobs.SendMessageWorker closes it when the
-- REST call itself returns 21610).

-- +goose Up
-- +goose StatementBegin
-- message_status_advance moves the outbound message carrying p_sid to
-- p_status (and p_code, if any) when that is a step forward. When that step
-- carries 21610 (the resident unsubscribed at the carrier or at Twilio) it
-- also opts the message's contact out and closes their open prompt; a
-- callback that moves nothing changes nothing. It returns whether the
-- message's status changed. The caller holds the SID's advisory lock.
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION message_status_advance(p_sid text, p_status text, p_code int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    UPDATE messages SET status = p_status, error_code = coalesce(p_code, error_code), updated_at = now()
    WHERE twilio_sid = p_sid AND direction = 'outbound'
      AND message_status_rank(status) < message_status_rank(p_status)
      AND message_status_rank(status) < 9;
    changed := FOUND;
    IF p_code = 21610 THEN
        UPDATE contacts SET opted_out_at = coalesce(opted_out_at, now())
        WHERE id = (SELECT contact_id FROM messages WHERE twilio_sid = p_sid);
    END IF;
    RETURN changed;
END $$;
-- +goose StatementEnd
