-- Delivery status callbacks, and storing the SID Twilio returned for an
-- outbound message, each become one statement. Each was a transaction of
-- four or five round trips (BEGIN, the per-SID advisory lock, a lookup, the
-- update, COMMIT), and every outbound message brings three callbacks
-- (queued, sent, delivered) and one SID: about twenty round trips per
-- message, which made a mass sending slow down the inbound webhook
-- (docs/benchmarks.md, "While messages are being sent"). A function called
-- on its own runs in one transaction, so the advisory lock still spans the
-- lookup and the write.

-- +goose Up
-- +goose StatementBegin

-- message_status_rank orders outbound delivery statuses: a message's status
-- only moves to a higher rank, and rank 9 (failed, undelivered, canceled)
-- is final. Unknown statuses rank -1 and never move a message.
CREATE FUNCTION message_status_rank(p_status text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_status
        WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2
        WHEN 'sent' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5
        WHEN 'undelivered' THEN 9 WHEN 'failed' THEN 9 WHEN 'canceled' THEN 9 WHEN 'cancelled' THEN 9
        ELSE -1 END
$$;

-- message_status_advance moves the outbound message carrying p_sid to
-- p_status (and p_code, if any) when that is a step forward, and opts its
-- contact out when Twilio reports 21610 (the resident unsubscribed at the
-- carrier or at Twilio). It returns whether the message's status changed.
-- The caller holds the SID's advisory lock.
CREATE FUNCTION message_status_advance(p_sid text, p_status text, p_code int) RETURNS boolean
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

-- message_status_callback applies a status callback for p_sid: to the
-- outbound message carrying it, or, when none does yet (Twilio can call back
-- before CreateMessage returns), it is held in message_status_early (the
-- most advanced status wins) until message_sent stores the SID.
CREATE FUNCTION message_status_callback(p_sid text, p_status text, p_code int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('twilio_sid:' || p_sid, 0));
    IF EXISTS (SELECT 1 FROM messages WHERE twilio_sid = p_sid) THEN
        PERFORM message_status_advance(p_sid, p_status, p_code);
        RETURN;
    END IF;
    INSERT INTO message_status_early AS e (twilio_sid, status, error_code) VALUES (p_sid, p_status, p_code)
    ON CONFLICT (twilio_sid) DO UPDATE SET status = EXCLUDED.status, error_code = EXCLUDED.error_code
    WHERE message_status_rank(e.status) < message_status_rank(EXCLUDED.status)
      AND message_status_rank(e.status) < 9;
END $$;

-- message_sent stores the SID and status Twilio returned for outbound
-- message p_id (unless it already has a SID), then applies and forgets any
-- callback held for that SID. An empty p_status counts as 'queued'. A
-- message already in a final status (failed, canceled) keeps it and only
-- gains the SID.
CREATE FUNCTION message_sent(p_id bigint, p_sid text, p_status text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    early message_status_early;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('twilio_sid:' || p_sid, 0));
    UPDATE messages SET twilio_sid = p_sid, sent_at = now(), updated_at = now(),
        status = CASE WHEN message_status_rank(status) >= 9 THEN status
                      ELSE coalesce(nullif(p_status, ''), 'queued') END
    WHERE id = p_id AND twilio_sid IS NULL;
    DELETE FROM message_status_early WHERE twilio_sid = p_sid RETURNING * INTO early;
    IF FOUND THEN
        PERFORM message_status_advance(p_sid, early.status, early.error_code);
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION message_sent(bigint, text, text);
DROP FUNCTION message_status_callback(text, text, int);
DROP FUNCTION message_status_advance(text, text, int);
DROP FUNCTION message_status_rank(text);
