-- A follow-up message no longer rewrites its submission. Until now each
-- one appended its text to submissions.body, so every follow-up wrote a new
-- version of the whole submission row, with an entry in each of its
-- indexes and the trigram index of the whole, growing text again; under
-- `make bench-sms` that was the largest single cost of the inbound path
-- (docs/benchmarks.md). Now:
--   1. A follow-up is stored once, as its inbound message with purpose
--      'detail'. The submission only gets its last_message_at and
--      updated_at moved (an update that touches no indexed column, so
--      PostgreSQL can keep it on the same page without index entries;
--      fillfactor leaves room for that).
--   2. submissions.body is the text the submission was opened with. Its
--      whole text is body followed by its 'detail' messages, one per line
--      (postgres.submissionText); rows filed before this migration already
--      hold their follow-ups in body and have no 'detail' messages, so
--      nothing is counted twice.
--   3. Text search matches a word in body or in any of the submission's
--      'detail' messages. A 'detail' message keeps its normalised text in
--      messages.body_norm (a trigger, as for submissions.body_norm), which
--      a trigram index serves (migration 00013, built without blocking
--      writes).
--   4. A new submission no longer gets a 'created' event row: its
--      created_at says when, and the timeline shows it from there.
--   5. inbound_batch stores the attachments of the messages it files, so
--      a batch is one statement that needs no transaction around it.

-- +goose Up
ALTER TABLE submissions SET (fillfactor = 90);

ALTER TABLE messages ADD COLUMN body_norm text; -- ar_norm(body), kept for 'detail' messages only

-- +goose StatementBegin
-- messages_body_norm keeps body_norm = ar_norm(body) on 'detail' messages.
CREATE FUNCTION messages_body_norm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.body_norm := ar_norm(NEW.body);
    RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER messages_body_norm BEFORE INSERT OR UPDATE OF body, purpose ON messages
    FOR EACH ROW WHEN (NEW.purpose = 'detail') EXECUTE FUNCTION messages_body_norm();

-- +goose StatementBegin
-- inbound_file as in migration 00008, with 1 and 4 above: the inbound
-- message of a follow-up has purpose 'detail' and the submission keeps its
-- body; a new submission gets no 'created' event. The contact's row is
-- locked (inbound_take), so one contact's messages are filed one at a
-- time.
CREATE OR REPLACE FUNCTION inbound_file(p_contact_id bigint, p_channel text, p_sid text, p_body text, p_kind text,
    p_lang text, p_followup_since timestamptz, p_prefix text, p_year int, p_reply_new text, p_reply_detail text,
    OUT submission_id bigint, OUT reference text, OUT created boolean, OUT reply text, OUT message_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- One statement finds and moves the submission a follow-up belongs to;
    -- status is checked again on the row it updates, so a submission that
    -- staff moved on in the meantime is not added to.
    UPDATE submissions s SET updated_at = now(), last_message_at = now()
    WHERE s.id = (SELECT o.id FROM submissions o
                  WHERE o.contact_id = p_contact_id AND o.status = 'new' AND o.last_message_at >= p_followup_since
                  ORDER BY o.created_at DESC LIMIT 1)
        AND s.status = 'new'
    RETURNING s.id, s.reference INTO submission_id, reference;
    created := NOT FOUND;
    IF created THEN
        reference := reference_next(p_prefix, p_year);
        INSERT INTO submissions AS s (reference, contact_id, channel, kind, body, language)
        VALUES (inbound_file.reference, p_contact_id, p_channel, p_kind, p_body, p_lang)
        RETURNING s.id INTO submission_id;
        reply := replace(p_reply_new, '{ref}', reference);
        INSERT INTO messages AS m (contact_id, submission_id, direction, channel, body, status, twilio_sid, reply)
        VALUES (p_contact_id, inbound_file.submission_id, 'inbound', p_channel, p_body, 'received', p_sid, inbound_file.reply)
        RETURNING m.id INTO message_id;
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'ack');
    ELSE
        reply := replace(p_reply_detail, '{ref}', reference);
        INSERT INTO messages AS m (contact_id, submission_id, direction, channel, body, purpose, status, twilio_sid, reply)
        VALUES (p_contact_id, inbound_file.submission_id, 'inbound', p_channel, p_body, 'detail', 'received', p_sid,
            inbound_file.reply)
        RETURNING m.id INTO message_id;
        PERFORM reply_store(p_contact_id, submission_id, p_channel, reply, 'detail_ack');
    END IF;
END $$;

-- inbound_batch as in migration 00007, and an item may carry
-- "media": [{"url": …, "content_type": …}, …], the attachments of its
-- message in Twilio's order, stored with the message when it is filed.
CREATE OR REPLACE FUNCTION inbound_batch(p_items jsonb, p_followup_since timestamptz, p_prefix text, p_year int,
    p_replies jsonb)
RETURNS TABLE (n int, outcome text, reference text, reply text)
LANGUAGE plpgsql AS $$
DECLARE
    it jsonb;
    t record;
    f record;
    lang text;
    tpl jsonb;
BEGIN
    FOR it, n IN SELECT e.value, e.ordinality::int FROM jsonb_array_elements(p_items) WITH ORDINALITY e LOOP
        lang := it->>'lang';
        SELECT * INTO t FROM inbound_take(it->>'phone', coalesce(nullif(lang, ''), 'ar'), lang <> '', it->>'sid');
        IF t.duplicate THEN
            outcome := 'duplicate'; reference := NULL; reply := t.stored_reply;
        ELSIF t.open_prompt THEN
            outcome := 'prompt'; reference := NULL; reply := NULL;
        ELSE
            tpl := coalesce(p_replies->t.contact_language, p_replies->'ar');
            IF t.opted_out_at IS NOT NULL THEN
                tpl := '{"new": "", "detail": ""}';
            END IF;
            SELECT * INTO f FROM inbound_file(t.contact_id, it->>'channel', it->>'sid', it->>'body', it->>'kind',
                coalesce(nullif(lang, ''), t.contact_language), p_followup_since, p_prefix, p_year,
                tpl->>'new', tpl->>'detail');
            IF it ? 'media' THEN
                INSERT INTO message_media (message_id, n, url, content_type)
                SELECT f.message_id, a.ordinality - 1, a.value->>'url', coalesce(a.value->>'content_type', '')
                FROM jsonb_array_elements(it->'media') WITH ORDINALITY a;
            END IF;
            outcome := 'filed'; reference := f.reference; reply := f.reply;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inbound_batch(p_items jsonb, p_followup_since timestamptz, p_prefix text, p_year int,
    p_replies jsonb)
RETURNS TABLE (n int, outcome text, reference text, reply text)
LANGUAGE plpgsql AS $$
DECLARE
    it jsonb;
    t record;
    f record;
    lang text;
    tpl jsonb;
BEGIN
    FOR it, n IN SELECT e.value, e.ordinality::int FROM jsonb_array_elements(p_items) WITH ORDINALITY e LOOP
        lang := it->>'lang';
        SELECT * INTO t FROM inbound_take(it->>'phone', coalesce(nullif(lang, ''), 'ar'), lang <> '', it->>'sid');
        IF t.duplicate THEN
            outcome := 'duplicate'; reference := NULL; reply := t.stored_reply;
        ELSIF t.open_prompt THEN
            outcome := 'prompt'; reference := NULL; reply := NULL;
        ELSE
            tpl := coalesce(p_replies->t.contact_language, p_replies->'ar');
            IF t.opted_out_at IS NOT NULL THEN
                tpl := '{"new": "", "detail": ""}';
            END IF;
            SELECT * INTO f FROM inbound_file(t.contact_id, it->>'channel', it->>'sid', it->>'body', it->>'kind',
                coalesce(nullif(lang, ''), t.contact_language), p_followup_since, p_prefix, p_year,
                tpl->>'new', tpl->>'detail');
            outcome := 'filed'; reference := f.reference; reply := f.reply;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- Follow-ups filed since the Up go back into their submission's body,
-- in order, as inbound_file of migration 00008 would have put them, and
-- the submissions opened since get the 'created' event it wrote.
UPDATE submissions s SET body = s.body || d.text, updated_at = s.updated_at
FROM (SELECT m.submission_id, string_agg(E'\n' || m.body, '' ORDER BY m.id) AS text
      FROM messages m WHERE m.purpose = 'detail' GROUP BY m.submission_id) d
WHERE d.submission_id = s.id;
UPDATE messages SET purpose = '' WHERE purpose = 'detail';
INSERT INTO submission_events (submission_id, kind, at)
SELECT s.id, 'created', s.created_at FROM submissions s
WHERE NOT EXISTS (SELECT 1 FROM submission_events e WHERE e.submission_id = s.id AND e.kind = 'created');

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

DROP TRIGGER messages_body_norm ON messages;
DROP FUNCTION messages_body_norm();
ALTER TABLE messages DROP COLUMN body_norm;
ALTER TABLE submissions RESET (fillfactor);
