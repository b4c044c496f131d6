-- inbound_batch files many inbound messages in one statement, so that
-- webhooks arriving together share one transaction and one round trip
-- (group commit; internal/conversation/batch.go). Each message takes the
-- same path as one handled alone: inbound_take, then inbound_file.
-- docs/benchmarks.md has the measurements behind this.

-- +goose Up
-- +goose StatementBegin

-- inbound_batch takes and files each element of p_items in order:
--   {"phone": E.164, "lang": detected language or "", "sid": MessageSid,
--    "channel": "sms"|"whatsapp", "body": text, "kind": kind if new}
-- p_replies holds the reply templates by language, with {ref} where the
-- reference goes: {"ar": {"new": …, "detail": …}, "en": {…}}; a contact
-- whose language is not there is answered in "ar", an opted-out contact
-- not at all. One row comes back per item, n counting from 1:
--   outcome 'duplicate': the SID was seen before; reply is what it got.
--   outcome 'prompt': the contact has a question open; only the contact was
--     touched, and the caller must handle the message on its own.
--   outcome 'filed': stored as detail or as a new submission (reference).
-- Callers lock contacts in one order (sort p_items by phone) so that
-- concurrent batches cannot deadlock.
CREATE FUNCTION inbound_batch(p_items jsonb, p_followup_since timestamptz, p_prefix text, p_year int,
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
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION inbound_batch(jsonb, timestamptz, text, int, jsonb);
