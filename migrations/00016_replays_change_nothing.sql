-- A replayed webhook changes nothing, and sends nothing to a resident who
-- has opted out since.
--
-- Until now inbound_take touched the contact before it looked for the
-- message: a replay moved last_seen_at, and set the contact's language back
-- to that of the replayed message if the resident had written in another
-- since. And a replay answered with the stored reply even when the resident
-- had opted out after the first delivery, so the TwiML answer sent them a
-- message after their confirmation.
--
-- inbound_take now looks for the message first and, finding it, returns
-- without writing. While the contact is opted out, a replay is answered
-- only if it is the message that opted them out (contacts.opted_out_by,
-- set with opted_out_at by postgres.Store.ContactOptOut), with its
-- confirmation; any other gets nothing. (Comparing times would not do:
-- now() is when a transaction began, not when it took the contact's row.)
--
-- Also: a message from a number Twilio once reported invalid or not mobile
-- (contacts.invalid_at, errors 21211 and 21614) clears that flag. Nothing
-- cleared it before, so a resident once flagged could never be written to
-- again, not even after texting in.

-- +goose Up
ALTER TABLE contacts ADD COLUMN opted_out_by bigint REFERENCES messages (id) ON DELETE SET NULL; -- the STOP, if a message opted them out

-- +goose StatementBegin
-- inbound_take records that p_phone (E.164) sent message p_sid. A message
-- seen before is a duplicate: nothing is written, and stored_reply is the
-- reply it got ("" while the contact is opted out, unless it is the
-- message that opted them out). Otherwise the
-- contact is created or touched (its language set to p_lang when
-- p_set_lang, its number no longer flagged invalid) and its row stays locked until the transaction ends, which
-- serialises one contact's messages, so a copy delivered concurrently is
-- found here once the first is stored. Nothing else is stored;
-- open_prompt says whether the contact has a question open.
CREATE OR REPLACE FUNCTION inbound_take(p_phone text, p_lang text, p_set_lang boolean, p_sid text,
    OUT contact_id bigint, OUT contact_language text, OUT opted_out_at timestamptz,
    OUT duplicate boolean, OUT stored_reply text, OUT open_prompt boolean)
LANGUAGE plpgsql AS $$
DECLARE
    message_id bigint;
    opted_out_by bigint;
BEGIN
    SELECT c.id, c.language, c.opted_out_at, c.opted_out_by, m.id, coalesce(m.reply, '')
    INTO contact_id, contact_language, opted_out_at, opted_out_by, message_id, stored_reply
    FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m.twilio_sid = p_sid;
    duplicate := FOUND;
    IF NOT duplicate THEN
        INSERT INTO contacts AS c (phone, language) VALUES (p_phone, p_lang)
        ON CONFLICT (phone) DO UPDATE SET last_seen_at = now(), invalid_at = NULL,
            language = CASE WHEN p_set_lang THEN EXCLUDED.language ELSE c.language END
        RETURNING c.id, c.language, c.opted_out_at, c.opted_out_by
        INTO contact_id, contact_language, opted_out_at, opted_out_by;

        -- A copy delivered at the same time may have been stored while
        -- this one waited for the contact's row.
        SELECT m.id, coalesce(m.reply, '') INTO message_id, stored_reply
        FROM messages m WHERE m.twilio_sid = p_sid;
        duplicate := FOUND;
    END IF;
    IF duplicate THEN
        IF opted_out_at IS NOT NULL AND message_id IS DISTINCT FROM opted_out_by THEN
            stored_reply := '';
        END IF;
        open_prompt := false;
        RETURN;
    END IF;
    stored_reply := '';
    open_prompt := EXISTS (SELECT 1 FROM prompts p WHERE p.contact_id = inbound_take.contact_id AND p.closed_at IS NULL);
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inbound_take(p_phone text, p_lang text, p_set_lang boolean, p_sid text,
    OUT contact_id bigint, OUT contact_language text, OUT opted_out_at timestamptz,
    OUT duplicate boolean, OUT stored_reply text, OUT open_prompt boolean)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contacts AS c (phone, language) VALUES (p_phone, p_lang)
    ON CONFLICT (phone) DO UPDATE SET last_seen_at = now(),
        language = CASE WHEN p_set_lang THEN EXCLUDED.language ELSE c.language END
    RETURNING c.id, c.language, c.opted_out_at INTO contact_id, contact_language, opted_out_at;

    SELECT coalesce(m.reply, '') INTO stored_reply FROM messages m WHERE m.twilio_sid = p_sid;
    duplicate := FOUND;
    IF duplicate THEN
        open_prompt := false;
        RETURN;
    END IF;
    stored_reply := '';
    open_prompt := EXISTS (SELECT 1 FROM prompts p WHERE p.contact_id = inbound_take.contact_id AND p.closed_at IS NULL);
END $$;
-- +goose StatementEnd

ALTER TABLE contacts DROP COLUMN opted_out_by;
