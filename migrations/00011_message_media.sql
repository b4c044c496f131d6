-- Attachments of inbound MMS and WhatsApp messages (photos of the pothole,
-- a voice note). Twilio keeps the files; Tawasul keeps where they are, in
-- Twilio's order, and staff open them through Tawasul
-- (GET /submissions/{reference}/media/{message}/{n}), which fetches them
-- with the account's credentials. A message without attachments has no
-- rows here, so the common inbound path writes nothing more.

-- +goose Up
CREATE TABLE message_media (
    message_id   bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    n            smallint NOT NULL CHECK (n BETWEEN 0 AND 9), -- its place among the message's attachments, from 0
    url          text NOT NULL,
    content_type text NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, n)
);

-- +goose Down
DROP TABLE message_media;
