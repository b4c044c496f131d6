-- A key the sender of an outbound message chose (a staff reply form's
-- one-time key), so submitting the same form twice queues one message.

-- +goose Up
ALTER TABLE messages ADD COLUMN idempotency_key text UNIQUE;

-- +goose Down
ALTER TABLE messages DROP COLUMN idempotency_key;
