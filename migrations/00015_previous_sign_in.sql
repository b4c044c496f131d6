-- users.previous_sign_in_at is the sign-in before the latest. The home page
-- shows it, or the latest when that is not the session's own, so that
-- staff notice a sign-in that was not theirs (server.handleHome).

-- +goose Up
ALTER TABLE users ADD COLUMN previous_sign_in_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN previous_sign_in_at;
