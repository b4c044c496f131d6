-- A department's queue (the submissions list scoped to one department,
-- newest first, paged by (created_at, id)) reads this index instead of
-- scanning every submission. Partial: a submission gets a department when
-- it is routed, so the common inbound path, which files submissions with
-- none, writes nothing more.

-- +goose Up
CREATE INDEX submissions_department_idx ON submissions (department_id, created_at DESC, id DESC)
    WHERE department_id IS NOT NULL;

-- +goose Down
DROP INDEX submissions_department_idx;
