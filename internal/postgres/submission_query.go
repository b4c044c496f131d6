package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// This file holds the read queries behind the staff submission pages and
// the JSON API: filtered, keyset-paginated lists (newest first by
// (created_at, id)), a submission with its timeline, and a contact's
// messages and summary.

// cursor is a position in a newest-first list: the (created_at, id) of the
// last row of the previous page. It is encoded and decoded only here, so
// callers treat it as opaque.
type cursor struct {
	at time.Time
	id int64
}

// encodeCursor returns the opaque text of c: base64url of "micros.id".
func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(strconv.FormatInt(c.at.UnixMicro(), 10) + "." + strconv.FormatInt(c.id, 10)))
}

// decodeCursor parses a cursor made by encodeCursor; ok is false for "".
// Anything else returns EINVALID.
// maxCursorMicros bounds a cursor's time (the end of year 9999), so a
// forged cursor cannot reach PostgreSQL with a time it cannot hold.
var maxCursorMicros = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()

func decodeCursor(s string) (c cursor, ok bool, err error) {
	if s == "" {
		return cursor{}, false, nil
	}
	bad := tawasul.Errorf(tawasul.EINVALID, "submissions.filter.bad_cursor", "cursor is not one this service returned")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false, bad
	}
	micros, id, found := strings.Cut(string(b), ".")
	if !found {
		return cursor{}, false, bad
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || us < 0 || us > maxCursorMicros {
		return cursor{}, false, bad
	}
	return cursor{at: time.UnixMicro(us).UTC(), id: n}, true, nil
}

// pageSize applies the default and the maximum to a requested page size.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return tawasul.DefaultPageSize
	case limit > tawasul.MaxPageSize:
		return tawasul.MaxPageSize
	}
	return limit
}

// where collects AND-ed conditions with their arguments. Each "?" in a
// condition becomes the next $n placeholder.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

// likePattern turns a query word into a LIKE pattern that finds it
// anywhere in Arabic-normalised text: ar_norm folds hamza forms, ى/ي, ة/ه,
// tashkeel, tatweel and Arabic-Indic digits as it does for the stored text,
// and LIKE's wildcards in the word are escaped so they match literally.
const likePattern = `'%' || replace(replace(replace(ar_norm(?), '\', '\\'), '%', '\%'), '_', '\_') || '%'`

// textContains matches submission s whose whole text (submissionText)
// contains one query word, as a substring; a query of several words adds
// one for each, so it matches the texts that contain each of them, in any
// order. The word is found in the text the submission was opened with
// (trigram index on submissions.body_norm) or in one of its details
// (trigram index on messages.body_norm of the 'detail' messages,
// migrations 00012 and 00013). It takes the word twice.
const textContains = `s.id IN (SELECT t.id FROM submissions t WHERE t.body_norm LIKE ` + likePattern + `
		UNION ALL SELECT m.submission_id FROM messages m WHERE m.purpose = 'detail' AND m.body_norm LIKE ` + likePattern + `)`

// submissionText is the whole text of submission s: the text it was opened
// with, then on a line each the detail that each later message added, in
// the order they were stored (by ID: one resident's messages are stored
// one at a time, under the lock on their contact). Follow-ups filed before migration 00012 are in s.body already.
const submissionText = `s.body || coalesce((SELECT string_agg(E'\n' || m.body, '' ORDER BY m.id)
		FROM messages m WHERE m.submission_id = s.id AND m.purpose = 'detail'), '')`

const submissionListSQL = `SELECT s.id, s.reference, s.contact_id, s.channel, s.kind, s.status, ` + submissionText + `, s.language,
		coalesce(d.code, ''), s.created_at, s.updated_at, s.last_message_at, coalesce(c.phone, '')
	FROM submissions s
	LEFT JOIN contacts c ON c.id = s.contact_id
	LEFT JOIN departments d ON d.id = s.department_id
	WHERE %s
	ORDER BY s.created_at DESC, s.id DESC
	LIMIT %d`

// SubmissionList returns one page of the submissions that match f, newest
// first by (created_at, id), and the cursor of the next page ("" on the last
// page). Walking the pages with the returned cursors visits every matching
// row exactly once, even when rows share a created_at. Returns EINVALID for
// a cursor this method did not make.
func (s *Store) SubmissionList(ctx context.Context, f tawasul.SubmissionFilter) ([]*tawasul.SubmissionItem, string, error) {
	after, hasCursor, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(f.Limit)
	var w where
	if f.Phone != "" {
		w.add(`c.phone = ?`, f.Phone)
	}
	if f.Status != "" {
		w.add(`s.status = ?`, string(f.Status))
	}
	if f.Channel != "" {
		w.add(`s.channel = ?`, string(f.Channel))
	}
	if f.Kind != "" {
		w.add(`s.kind = ?`, string(f.Kind))
	}
	if !f.Since.IsZero() {
		w.add(`s.created_at >= ?`, f.Since)
	}
	if !f.Until.IsZero() {
		w.add(`s.created_at < ?`, f.Until)
	}
	for _, word := range strings.Fields(f.Query) {
		w.add(textContains, word, word)
	}
	if f.DepartmentID != nil {
		w.add(`s.department_id = ?`, *f.DepartmentID)
	}
	if hasCursor {
		w.add(`(s.created_at, s.id) < (?, ?)`, after.at, after.id)
	}
	rows, err := s.db.Query(ctx, fmt.Sprintf(submissionListSQL, w.String(), limit+1), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: submission list: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.SubmissionItem, error) {
		var it tawasul.SubmissionItem
		sub := &it.Submission
		err := row.Scan(&sub.ID, &sub.Reference, &sub.ContactID, &sub.Channel, &sub.Kind, &sub.Status, &sub.Body,
			&sub.Language, &sub.DepartmentCode, &sub.CreatedAt, &sub.UpdatedAt, &sub.LastMessageAt, &it.Phone)
		return &it, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: submission list: %w", err)
	}
	items, next := trimPage(items, limit, func(it *tawasul.SubmissionItem) cursor {
		return cursor{at: it.CreatedAt, id: it.ID}
	})
	return items, next, nil
}

// SubmissionDetail returns the submission with reference ref, its contact's
// phone, whether they can be written to (and, for WhatsApp, whether
// WhatsApp's window for a reply has closed) and its whole timeline. When departmentID is not nil, only a
// submission of that department is found. Returns ENOTFOUND when there is
// no such submission or it is outside the department, so a department
// cannot learn which references exist elsewhere.
func (s *Store) SubmissionDetail(ctx context.Context, ref string, departmentID *int64) (*tawasul.SubmissionDetail, error) {
	var d tawasul.SubmissionDetail
	sub := &d.Submission
	err := s.db.QueryRow(ctx, `SELECT s.id, s.reference, s.contact_id, s.channel, s.kind, s.status, `+submissionText+`, s.language,
			coalesce(d.code, ''), coalesce(d.name_ar, ''), coalesce(d.name_en, ''),
			s.created_at, s.updated_at, s.last_message_at, coalesce(c.phone, ''), c.opted_out_at, c.invalid_at,
			s.channel = 'whatsapp' AND coalesce((SELECT now() - max(m.created_at) >= $3 FROM messages m
				WHERE m.contact_id = s.contact_id AND m.direction = 'inbound' AND m.channel = 'whatsapp'), true)
		FROM submissions s
		LEFT JOIN contacts c ON c.id = s.contact_id
		LEFT JOIN departments d ON d.id = s.department_id
		WHERE s.reference = $1 AND ($2::bigint IS NULL OR s.department_id = $2)`, ref, departmentID, tawasul.WhatsAppWarnAfter).
		Scan(&sub.ID, &sub.Reference, &sub.ContactID, &sub.Channel, &sub.Kind, &sub.Status, &sub.Body, &sub.Language,
			&sub.DepartmentCode, &sub.DepartmentName.Ar, &sub.DepartmentName.En,
			&sub.CreatedAt, &sub.UpdatedAt, &sub.LastMessageAt, &d.Phone, &d.ContactOptedOutAt, &d.ContactInvalidAt,
			&d.WhatsAppWindowClosed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "submissions.not_found", "no submission with this reference")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: submission detail: %w", err)
	}
	if d.Timeline, err = s.SubmissionTimeline(ctx, sub.ID); err != nil {
		return nil, err
	}
	return &d, nil
}

// SubmissionTimeline returns a submission's timeline in time order (ties,
// such as the events of one transaction, in the order they were written):
// every submission_events row with its message, if any, plus every message
// linked to the submission that no event names, as an entry with ID 0 at
// the message's creation time: "message_out" for an outbound message,
// "message_in" for the submission's first inbound message and
// "detail_added" for a later one. The common inbound path writes no events
// for its messages (migration 00008), nor a "created" event (migration
// 00012): a submission without one starts with a "created" entry with ID 0
// at its created_at. Messages come with their attachments.
func (s *Store) SubmissionTimeline(ctx context.Context, submissionID int64) ([]*tawasul.TimelineEvent, error) {
	rows, err := s.db.Query(ctx, `
		SELECT event_id, at, kind, m.id, m.contact_id, m.submission_id, m.direction, m.channel, m.body, m.purpose,
			m.status, m.twilio_sid, m.error_code, m.created_at, m.updated_at
		FROM (
			SELECT e.id AS event_id, e.at, e.kind, e.message_id, 1 AS tie
			FROM submission_events e WHERE e.submission_id = $1
			UNION ALL
			SELECT NULL, s.created_at, 'created', NULL, 0
			FROM submissions s
			WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM submission_events e WHERE e.submission_id = $1 AND e.kind = 'created')
			UNION ALL
			SELECT NULL, m.created_at,
				CASE WHEN m.direction = 'outbound' THEN 'message_out'
					WHEN m.id = (SELECT min(f.id) FROM messages f WHERE f.submission_id = $1 AND f.direction = 'inbound') THEN 'message_in'
					ELSE 'detail_added' END,
				m.id, 1
			FROM messages m
			WHERE m.submission_id = $1
				AND NOT EXISTS (SELECT 1 FROM submission_events e WHERE e.submission_id = $1 AND e.message_id = m.id)
		) t LEFT JOIN messages m ON m.id = t.message_id
		ORDER BY at, tie, event_id NULLS LAST, m.id`, submissionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: submission timeline: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.TimelineEvent, error) {
		var (
			e         tawasul.TimelineEvent
			eventID   *int64
			msgID     *int64
			contactID *int64
			m         tawasul.Message
			direction *string
			channel   *string
			body      *string
			purpose   *string
			status    *string
			createdAt *time.Time
			updatedAt *time.Time
		)
		err := row.Scan(&eventID, &e.At, &e.Kind, &msgID, &contactID, &m.SubmissionID, &direction, &channel, &body,
			&purpose, &status, &m.TwilioSID, &m.ErrorCode, &createdAt, &updatedAt)
		if err != nil {
			return nil, err
		}
		if eventID != nil {
			e.ID = *eventID
		}
		if msgID != nil {
			m.ID, m.ContactID = *msgID, *contactID
			m.Direction, m.Channel, m.Body, m.Purpose, m.Status = *direction, tawasul.Channel(*channel), *body, *purpose, *status
			m.CreatedAt, m.UpdatedAt = *createdAt, *updatedAt
			e.Message = &m
		}
		return &e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: submission timeline: %w", err)
	}
	var msgs []*tawasul.Message
	for _, e := range events {
		if e.Message != nil {
			msgs = append(msgs, e.Message)
		}
	}
	if err := s.attachMedia(ctx, msgs); err != nil {
		return nil, err
	}
	return events, nil
}

const messageListSQL = `SELECT m.id, m.contact_id, m.submission_id, m.direction, m.channel, m.body, m.purpose,
		m.status, m.twilio_sid, m.error_code, m.created_at, m.updated_at, coalesce(s.reference, '')
	FROM messages m
	JOIN contacts c ON c.id = m.contact_id
	LEFT JOIN submissions s ON s.id = m.submission_id
	WHERE %s
	ORDER BY m.created_at DESC, m.id DESC
	LIMIT %d`

// MessageListByPhone returns one page of the messages to and from the
// contact with phone (E.164), newest first by (created_at, id), each with
// its submission's reference and its attachments, and the cursor of the
// next page ("" on the last page). An unknown phone has no messages. cursor and limit work as in
// SubmissionList; a bad cursor is EINVALID.
func (s *Store) MessageListByPhone(ctx context.Context, phone, cur string, limit int) ([]*tawasul.MessageItem, string, error) {
	after, hasCursor, err := decodeCursor(cur)
	if err != nil {
		return nil, "", err
	}
	limit = pageSize(limit)
	var w where
	w.add(`c.phone = ?`, phone)
	if hasCursor {
		w.add(`(m.created_at, m.id) < (?, ?)`, after.at, after.id)
	}
	rows, err := s.db.Query(ctx, fmt.Sprintf(messageListSQL, w.String(), limit+1), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: message list by phone: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.MessageItem, error) {
		var it tawasul.MessageItem
		m := &it.Message
		err := row.Scan(&m.ID, &m.ContactID, &m.SubmissionID, &m.Direction, &m.Channel, &m.Body, &m.Purpose,
			&m.Status, &m.TwilioSID, &m.ErrorCode, &m.CreatedAt, &m.UpdatedAt, &it.SubmissionReference)
		return &it, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: message list by phone: %w", err)
	}
	items, next := trimPage(items, limit, func(it *tawasul.MessageItem) cursor {
		return cursor{at: it.CreatedAt, id: it.ID}
	})
	msgs := make([]*tawasul.Message, len(items))
	for i, it := range items {
		msgs[i] = &it.Message
	}
	if err := s.attachMedia(ctx, msgs); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// ContactSummaryByPhone returns the contact with phone (E.164) and counts of
// its submissions and of the messages it sent and was sent. Returns
// ENOTFOUND for an unknown phone.
func (s *Store) ContactSummaryByPhone(ctx context.Context, phone string) (*tawasul.ContactSummary, error) {
	var cs tawasul.ContactSummary
	c := &cs.Contact
	err := s.db.QueryRow(ctx, `SELECT c.id, c.phone, c.language, c.opted_out_at, c.invalid_at, c.first_seen_at, c.last_seen_at,
			(SELECT count(*) FROM submissions s WHERE s.contact_id = c.id),
			(SELECT count(*) FROM messages m WHERE m.contact_id = c.id AND m.direction = 'inbound'),
			(SELECT count(*) FROM messages m WHERE m.contact_id = c.id AND m.direction = 'outbound')
		FROM contacts c WHERE c.phone = $1`, phone).
		Scan(&c.ID, &c.Phone, &c.Language, &c.OptedOutAt, &c.InvalidAt, &c.FirstSeenAt, &c.LastSeenAt,
			&cs.Submissions, &cs.MessagesIn, &cs.MessagesOut)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "contacts.not_found", "no contact with this phone number")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: contact summary: %w", err)
	}
	return &cs, nil
}

// trimPage cuts items, fetched with one row more than limit, to limit and
// returns the cursor of the last kept item when there is a next page.
func trimPage[T any](items []T, limit int, at func(T) cursor) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, encodeCursor(at(items[limit-1]))
}
