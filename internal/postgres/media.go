package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// InboundMediaStore records media as the attachments of the inbound message
// Twilio calls sid, in their order. Run it in the transaction that stored
// the message; a replay (the attachments are stored already) adds nothing.
func (s *Store) InboundMediaStore(ctx context.Context, sid string, media []tawasul.Media) error {
	if len(media) == 0 {
		return nil
	}
	urls, types := make([]string, len(media)), make([]string, len(media))
	for i, m := range media {
		urls[i], types[i] = m.URL, m.ContentType
	}
	_, err := s.db.Exec(ctx, `INSERT INTO message_media (message_id, n, url, content_type)
		SELECT m.id, u.n - 1, u.url, u.content_type
		FROM messages m, unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(url, content_type, n)
		WHERE m.twilio_sid = $1 AND m.direction = 'inbound'
		ON CONFLICT DO NOTHING`, sid, urls, types)
	if err != nil {
		return fmt.Errorf("postgres: inbound media store: %w", err)
	}
	return nil
}

// MessageMedia returns the attachments of the messages ids, in order, by
// message ID; messages without attachments are not in the map.
func (s *Store) MessageMedia(ctx context.Context, ids []int64) (map[int64][]tawasul.Media, error) {
	out := map[int64][]tawasul.Media{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT message_id, url, content_type FROM message_media
		WHERE message_id = ANY($1) ORDER BY message_id, n`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: message media: %w", err)
	}
	var id int64
	var m tawasul.Media
	_, err = pgx.ForEachRow(rows, []any{&id, &m.URL, &m.ContentType}, func() error {
		out[id] = append(out[id], m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: message media: %w", err)
	}
	return out, nil
}

// SubmissionMedia returns attachment n (from 0) of message messageID, if
// that message belongs to the submission with reference ref and, when
// departmentID is not nil, that submission is the department's; ENOTFOUND
// otherwise.
func (s *Store) SubmissionMedia(ctx context.Context, ref string, departmentID *int64, messageID int64, n int) (*tawasul.Media, error) {
	var m tawasul.Media
	err := s.db.QueryRow(ctx, `SELECT mm.url, mm.content_type FROM message_media mm
		JOIN messages msg ON msg.id = mm.message_id
		JOIN submissions sub ON sub.id = msg.submission_id
		WHERE sub.reference = $1 AND ($2::bigint IS NULL OR sub.department_id = $2)
			AND mm.message_id = $3 AND mm.n = $4`, ref, departmentID, messageID, n).
		Scan(&m.URL, &m.ContentType)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.not_found", "no such attachment")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: submission media: %w", err)
	}
	return &m, nil
}

// attachMedia fills in the Media of msgs.
func (s *Store) attachMedia(ctx context.Context, msgs []*tawasul.Message) error {
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		if m.Direction == "inbound" {
			ids = append(ids, m.ID)
		}
	}
	media, err := s.MessageMedia(ctx, ids)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		m.Media = media[m.ID]
	}
	return nil
}
