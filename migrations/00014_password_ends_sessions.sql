-- A new password ends the sessions signed in before it: a sign-in records
-- its time in the session (users.last_sign_in_at as the database gave it),
-- and a session older than users.password_changed_at is signed out on its
-- next request (server.loadUser). NULL for passwords set before this
-- migration, which end nothing.

-- +goose Up
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN password_changed_at;
