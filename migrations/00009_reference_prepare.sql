-- Each year's reference sequence is made ahead of time, by the migration
-- and then daily by the prepare_references job (jobs/prepare_references.go),
-- not by the first submission of the year: creating a sequence inside the
-- transaction that files a message made other transactions wait on it, and
-- a transaction holding a contact that this one needed closed a cycle
-- (a deadlock, so one of them failed). reference_next still creates a
-- missing sequence as a last resort.

-- +goose Up
-- +goose StatementBegin

-- reference_prepare makes sure p_year's reference sequence exists.
CREATE FUNCTION reference_prepare(p_year int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'reference_seq_' || p_year;
BEGIN
    IF to_regclass(seq) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
        EXCEPTION WHEN unique_violation THEN
            NULL; -- created concurrently by another transaction
        END;
    END IF;
END $$;
-- +goose StatementEnd

SELECT reference_prepare(y::int)
FROM generate_series(extract(year FROM now() AT TIME ZONE 'Asia/Riyadh'),
                     extract(year FROM now() AT TIME ZONE 'Asia/Riyadh') + 1) AS y;

-- +goose Down
DROP FUNCTION reference_prepare(int);
