-- The common path of an inbound SMS/WhatsApp message as SQL functions, so
-- a webhook costs 4 round trips (BEGIN, inbound_take,
-- inbound_file, COMMIT) instead of 13, and references from per-year
-- sequences instead of a counter row every new submission waited on.
-- docs/benchmarks.md has the measurements behind this. The Go side is internal/postgres/inbound.go;
-- the decisions (keywords, prompts, reply texts) stay in
-- internal/conversation.

-- +goose Up
-- +goose StatementBegin

-- reference_next allocates the next number of p_year and formats it as a
-- public reference: prefix, two-digit year, at least four digits
-- (QS-26-0173). Numbers come from one sequence per year (created on first
-- use), so concurrent submissions never wait on each other; a transaction
-- that rolls back leaves its number unused (a gap), which is harmless for a
-- reference.
CREATE FUNCTION reference_next(p_prefix text, p_year int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'reference_seq_' || p_year;
    n bigint;
BEGIN
    IF to_regclass(seq) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
        EXCEPTION WHEN unique_violation THEN
            NULL; -- created concurrently by another transaction
        END;
    END IF;
    n := nextval(seq);
    RETURN p_prefix || '-' || to_char(p_year % 100, 'FM00') || '-' || lpad(n::text, greatest(4, length(n::text)), '0');
END $$;

-- The counters of migration 00003 become sequences that go on from them
-- (locked first, so an instance still on the old code cannot take a number
-- in between).
LOCK TABLE reference_counters IN EXCLUSIVE MODE;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT year, last FROM reference_counters LOOP
        EXECUTE format('CREATE SEQUENCE %I START %s', 'reference_seq_' || r.year, r.last + 1);
    END LOOP;
END $$;
DROP TABLE reference_counters;

-- inbound_take records that p_phone (E.164) sent message p_sid: the contact
-- is created or touched (its language set to p_lang when p_set_lang) and
-- its row stays locked until the transaction ends, which serialises one
-- contact's messages — so a replayed webhook, even a concurrent one, finds
-- the first delivery's message here: duplicate, with the reply it got.
-- Nothing else is stored; open_prompt says whether the contact has a
-- question open.
CREATE FUNCTION inbound_take(p_phone text, p_lang text, p_set_lang boolean, p_sid text,
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

-- inbound_store stores inbound message p_sid from contact p_contact_id, on
-- submission p_submission_id (may be null) with the reply it is answered
-- with (null until known), and returns its id.
CREATE FUNCTION inbound_store(p_contact_id bigint, p_channel text, p_sid text, p_body text,
    p_submission_id bigint, p_reply text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid, reply)
    VALUES (p_contact_id, p_submission_id, 'inbound', p_channel, p_body, 'received', p_sid, p_reply)
    RETURNING id;
$$;

-- reply_store stores p_reply (if not "") as an outbound message that went
-- back in the TwiML answer (status 'replied'), on the submission's
-- timeline.
CREATE FUNCTION reply_store(p_contact_id bigint, p_submission_id bigint, p_channel text, p_reply text,
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

-- inbound_reply records what inbound message p_message_id (stored by
-- inbound_store) led to: its submission (may be null) and the reply it was
-- answered with ("" for none), kept for replays; see reply_store.
CREATE FUNCTION inbound_reply(p_message_id bigint, p_contact_id bigint, p_submission_id bigint, p_channel text,
    p_reply text, p_purpose text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE messages SET submission_id = p_submission_id, reply = p_reply, updated_at = now() WHERE id = p_message_id;
    PERFORM reply_store(p_contact_id, p_submission_id, p_channel, p_reply, p_purpose);
END $$;

-- inbound_file stores inbound message p_sid (text p_body) and files it:
-- as detail on the contact's newest submission that is still new and had a
-- message since p_followup_since, or else as a new submission (kind
-- p_kind, language p_lang) with a fresh reference. The reply is
-- p_reply_detail or p_reply_new with every '{ref}' replaced by the
-- reference ("" to answer nothing); it is stored with the message (for
-- replays) and as the outbound reply, and returned.
CREATE FUNCTION inbound_file(p_contact_id bigint, p_channel text, p_sid text, p_body text, p_kind text,
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

-- +goose Down
DROP FUNCTION inbound_file(bigint, text, text, text, text, text, timestamptz, text, int, text, text);
DROP FUNCTION inbound_reply(bigint, bigint, bigint, text, text, text);
DROP FUNCTION reply_store(bigint, bigint, text, text, text);
DROP FUNCTION inbound_store(bigint, text, text, text, bigint, text);
DROP FUNCTION inbound_take(text, text, boolean, text);
DROP FUNCTION reference_next(text, int);
CREATE TABLE reference_counters (
    year int PRIMARY KEY,
    last int NOT NULL
);
-- +goose StatementBegin
-- Each year's counter goes on from the last number its sequence gave out
-- (read from the sequence itself: pg_sequences shows NULL for one never
-- used since it was created with START).
DO $$
DECLARE
    r record;
    last bigint;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
        WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace
          AND c.relname ~ '^reference_seq_[0-9]+$' LOOP
        EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %I', r.relname) INTO last;
        INSERT INTO reference_counters VALUES (substr(r.relname, 15)::int, last);
        EXECUTE format('DROP SEQUENCE %I', r.relname);
    END LOOP;
END $$;
-- +goose StatementEnd
