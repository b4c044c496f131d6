-- Indexes built without blocking writes (CONCURRENTLY, so outside a
-- transaction): on a busy instance the messages and submissions tables
-- are large, and a plain CREATE INDEX would hold up every webhook while it
-- reads them. If a build fails half-way it leaves an invalid index: drop
-- it and run `tawasul migrate` again.
--   - messages_detail_norm_trgm_idx: text search over what residents add
--     to their submissions (migration 00012).
--   - submissions_department_idx: a department's queue (the submissions
--     list scoped to one department, newest first, paged by
--     (created_at, id)). Partial: a submission gets a department when it
--     is routed, so the inbound path, which files submissions with none,
--     writes nothing more.

-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_detail_norm_trgm_idx ON messages USING gin (body_norm gin_trgm_ops)
    WHERE purpose = 'detail';
CREATE INDEX CONCURRENTLY IF NOT EXISTS submissions_department_idx ON submissions (department_id, created_at DESC, id DESC)
    WHERE department_id IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS submissions_department_idx;
DROP INDEX CONCURRENTLY IF EXISTS messages_detail_norm_trgm_idx;
