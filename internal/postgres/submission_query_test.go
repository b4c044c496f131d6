package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tawasul/internal/dbtest"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
)

type queryBundle struct {
	pool  *pgxpool.Pool
	store *postgres.Store
}

func setupQuery(t *testing.T) *queryBundle {
	t.Helper()
	pool := dbtest.Pool(t)
	return &queryBundle{pool: pool, store: postgres.New(pool)}
}

type subOpts struct {
	phone   string
	channel tawasul.Channel
	kind    tawasul.Kind
	body    string
}

// addSubmission stores a submission from o.phone (created now) with its
// "created" event, through db (the pool, or a transaction), with the next
// reference of 2026.
func (b *queryBundle) addSubmission(t *testing.T, db postgres.DBTX, o subOpts) *tawasul.Submission {
	t.Helper()
	ctx := context.Background()
	if o.phone == "" {
		o.phone = "+966551234567"
	}
	if o.channel == "" {
		o.channel = tawasul.ChannelSMS
	}
	if o.kind == "" {
		o.kind = tawasul.KindComplaint
	}
	sub := &tawasul.Submission{Channel: o.channel, Kind: o.kind, Body: o.body, Language: "ar"}
	err := db.QueryRow(ctx, `WITH c AS (
			INSERT INTO contacts (phone) VALUES ($1) ON CONFLICT (phone) DO UPDATE SET last_seen_at = now() RETURNING id
		), s AS (
			INSERT INTO submissions (reference, contact_id, channel, kind, body, language)
			SELECT reference_next('QS', 2026), c.id, $2, $3, $4, 'ar' FROM c
			RETURNING id, reference, contact_id, status, created_at, updated_at, last_message_at
		), e AS (
			INSERT INTO submission_events (submission_id, kind) SELECT id, 'created' FROM s
		)
		SELECT id, reference, contact_id, status, created_at, updated_at, last_message_at FROM s`,
		o.phone, o.channel, o.kind, o.body).
		Scan(&sub.ID, &sub.Reference, &sub.ContactID, &sub.Status, &sub.CreatedAt, &sub.UpdatedAt, &sub.LastMessageAt)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (b *queryBundle) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}

func refs(items []*tawasul.SubmissionItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Reference)
	}
	slices.Sort(out)
	return out
}

func (b *queryBundle) list(t *testing.T, f tawasul.SubmissionFilter) []string {
	t.Helper()
	items, _, err := b.store.SubmissionList(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return refs(items)
}

func TestSubmissionListFilters(t *testing.T) {
	t.Parallel()
	b := setupQuery(t)
	water := b.addSubmission(t, b.pool, subOpts{body: "انقطاع المآء في حي النسيم منذ ٣ أيام", phone: "+966551111111"})
	light := b.addSubmission(t, b.pool, subOpts{body: "الإنارة طافية في شارع 30", kind: tawasul.KindSuggestion,
		channel: tawasul.ChannelWhatsApp, phone: "+966552222222"})
	school := b.addSubmission(t, b.pool, subOpts{body: "مدرسة البنات: الرصيف مكسور 100% و_خطير", phone: "+966551111111"})
	old := b.addSubmission(t, b.pool, subOpts{body: "The street light is broken", kind: tawasul.KindInquiry, phone: "+966553333333"})
	b.exec(t, `UPDATE submissions SET status = 'closed', created_at = now() - interval '10 days' WHERE id = $1`, old.ID)
	b.exec(t, `UPDATE submissions SET department_id = (SELECT id FROM departments WHERE code = 'water') WHERE id = $1`, water.ID)
	var waterDept int64
	if err := b.pool.QueryRow(context.Background(), `SELECT id FROM departments WHERE code = 'water'`).Scan(&waterDept); err != nil {
		t.Fatal(err)
	}
	// A follow-up adds detail to water (as inbound_file stores one); a
	// staff reply on light says the same words but is not the resident's
	// text.
	b.exec(t, `INSERT INTO messages (contact_id, submission_id, direction, channel, body, purpose, status)
		SELECT contact_id, id, 'inbound', 'sms', 'والضغط ضعيف جداً', 'detail', 'received' FROM submissions WHERE id = $1`, water.ID)
	b.exec(t, `INSERT INTO messages (contact_id, submission_id, direction, channel, body, purpose, status)
		SELECT contact_id, id, 'outbound', 'sms', 'هل الضغط ضعيف؟', 'reply', 'pending' FROM submissions WHERE id = $1`, light.ID)

	all := refs([]*tawasul.SubmissionItem{{Submission: *water}, {Submission: *light}, {Submission: *school}, {Submission: *old}})
	tests := []struct {
		name string
		f    tawasul.SubmissionFilter
		want []*tawasul.Submission
	}{
		{"status", tawasul.SubmissionFilter{Status: tawasul.StatusClosed}, []*tawasul.Submission{old}},
		{"kind", tawasul.SubmissionFilter{Kind: tawasul.KindSuggestion}, []*tawasul.Submission{light}},
		{"channel", tawasul.SubmissionFilter{Channel: tawasul.ChannelWhatsApp}, []*tawasul.Submission{light}},
		{"phone", tawasul.SubmissionFilter{Phone: "+966551111111"}, []*tawasul.Submission{water, school}},
		{"since", tawasul.SubmissionFilter{Since: time.Now().Add(-24 * time.Hour)}, []*tawasul.Submission{water, light, school}},
		{"until", tawasul.SubmissionFilter{Until: time.Now().Add(-24 * time.Hour)}, []*tawasul.Submission{old}},
		{"department", tawasul.SubmissionFilter{DepartmentID: &waterDept}, []*tawasul.Submission{water}},
		// Arabic letter variants: آ/ا and ة/ه and أ/إ/ا fold on both sides.
		{"q alef madda", tawasul.SubmissionFilter{Query: "الماء"}, []*tawasul.Submission{water}},
		{"q ta marbuta", tawasul.SubmissionFilter{Query: "مدرسه"}, []*tawasul.Submission{school}},
		{"q hamza", tawasul.SubmissionFilter{Query: "الانارة"}, []*tawasul.Submission{light}},
		{"q tashkeel", tawasul.SubmissionFilter{Query: "الإنَارَة"}, []*tawasul.Submission{light}},
		// Arabic-Indic digits in the query or the body match Western ones.
		{"q arabic-indic digits", tawasul.SubmissionFilter{Query: "شارع ٣٠"}, []*tawasul.Submission{light}},
		{"q western digits", tawasul.SubmissionFilter{Query: "منذ 3"}, []*tawasul.Submission{water}},
		{"q case", tawasul.SubmissionFilter{Query: "STREET LIGHT"}, []*tawasul.Submission{old}},
		// LIKE wildcards in the query match literally.
		{"q percent", tawasul.SubmissionFilter{Query: "100%"}, []*tawasul.Submission{school}},
		{"q lone percent", tawasul.SubmissionFilter{Query: "%"}, []*tawasul.Submission{school}},
		{"q underscore", tawasul.SubmissionFilter{Query: "_خطير"}, []*tawasul.Submission{school}},
		{"q lone underscore", tawasul.SubmissionFilter{Query: "_"}, []*tawasul.Submission{school}},
		{"q no match", tawasul.SubmissionFilter{Query: "حديقة"}, nil},
		// A follow-up's words are the submission's too, with the first
		// message's; a staff reply's are not.
		{"q in a detail", tawasul.SubmissionFilter{Query: "ضعيف"}, []*tawasul.Submission{water}},
		{"q across detail and first text", tawasul.SubmissionFilter{Query: "جدا النسيم"}, []*tawasul.Submission{water}},
		{"q detail and another's first text", tawasul.SubmissionFilter{Query: "ضعيف الانارة"}, nil},
		{"combined", tawasul.SubmissionFilter{Phone: "+966551111111", Query: "الرصيف", Status: tawasul.StatusNew}, []*tawasul.Submission{school}},
		{"none", tawasul.SubmissionFilter{}, nil},
	}
	for _, tt := range tests {
		want := refs(nil)
		for _, s := range tt.want {
			want = append(want, s.Reference)
		}
		slices.Sort(want)
		if tt.name == "none" {
			want = all
		}
		if got := b.list(t, tt.f); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, want)
		}
	}

	items, _, err := b.store.SubmissionList(context.Background(), tawasul.SubmissionFilter{Query: "الماء"})
	if err != nil || len(items) != 1 {
		t.Fatalf("%v %v", items, err)
	}
	if it := items[0]; it.Phone != "+966551111111" || it.DepartmentCode != "water" || it.Body != water.Body+"\nوالضغط ضعيف جداً" {
		t.Errorf("item fields: phone %q dept %q body %q", it.Phone, it.DepartmentCode, it.Body)
	}
}

func TestSubmissionListCursorWalk(t *testing.T) {
	t.Parallel()
	b := setupQuery(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 9 {
		s := b.addSubmission(t, b.pool, subOpts{body: fmt.Sprintf("بلاغ %d", i), phone: fmt.Sprintf("+9665512340%02d", i)})
		want[s.Reference] = true
	}
	// Five submissions in one transaction share created_at: the id breaks the tie.
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s := b.addSubmission(t, tx, subOpts{body: fmt.Sprintf("بلاغ مكرر %d", i), phone: fmt.Sprintf("+9665512350%02d", i)})
		want[s.Reference] = true
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	for _, limit := range []int{1, 3, 4, 14, 100} {
		seen := map[string]bool{}
		var prev *tawasul.SubmissionItem
		cursor, pages := "", 0
		for {
			items, next, err := b.store.SubmissionList(ctx, tawasul.SubmissionFilter{Cursor: cursor, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(items) > limit || (next != "" && len(items) != limit) {
				t.Fatalf("limit %d: page of %d, next %q", limit, len(items), next)
			}
			for _, it := range items {
				if seen[it.Reference] {
					t.Fatalf("limit %d: %s seen twice", limit, it.Reference)
				}
				seen[it.Reference] = true
				if prev != nil && (it.CreatedAt.After(prev.CreatedAt) || (it.CreatedAt.Equal(prev.CreatedAt) && it.ID >= prev.ID)) {
					t.Fatalf("limit %d: %s after %s is not newest first", limit, it.Reference, prev.Reference)
				}
				prev = it
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != len(want) {
			t.Errorf("limit %d: walked %d rows in %d pages, want %d", limit, len(seen), pages, len(want))
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}

	// The default page size and the cap.
	if items, _, _ := b.store.SubmissionList(ctx, tawasul.SubmissionFilter{Limit: 1000}); len(items) != len(want) {
		t.Errorf("limit 1000 gave %d rows", len(items))
	}
	for _, bad := range []string{"nope", "bm9wZQ", "MTIzLmFiYw"} {
		if _, _, err := b.store.SubmissionList(ctx, tawasul.SubmissionFilter{Cursor: bad}); tawasul.ErrorCode(err) != tawasul.EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID", bad, err)
		}
	}
}

func TestSubmissionDetailTimeline(t *testing.T) {
	t.Parallel()
	b := setupQuery(t)
	ctx := context.Background()
	var sub *tawasul.Submission
	var inID, outID int64
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		st := b.store.WithTx(tx)
		sub = b.addSubmission(t, tx, subOpts{body: "حفرة في الطريق"})
		var err error
		inID, err = st.InboundStore(ctx, *sub.ContactID, tawasul.ChannelSMS, "SM00000000000000000000000000000001", sub.Body)
		if err != nil {
			return err
		}
		if err := st.SubmissionEventInsert(ctx, sub.ID, "message_in", &inID, nil); err != nil {
			return err
		}
		if err := st.InboundReply(ctx, inID, *sub.ContactID, &sub.ID, tawasul.ChannelSMS, "استلمنا بلاغك", "ack"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT max(id) FROM messages WHERE direction = 'outbound'`).Scan(&outID)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A later outbound message that failed, linked to the submission but
	// with no event of its own.
	var lateID int64
	if err := b.pool.QueryRow(ctx, `INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, error_code, created_at)
		VALUES ($1, $2, 'outbound', 'sms', 'تم إصلاح الحفرة', 'failed', 30003, now() + interval '1 minute') RETURNING id`,
		*sub.ContactID, sub.ID).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	// A follow-up from the resident, with no event of its own (as the
	// common inbound path stores it): shown as added detail.
	var detailID int64
	if err := b.pool.QueryRow(ctx, `INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid, created_at)
		VALUES ($1, $2, 'inbound', 'sms', 'قرب المدرسة', 'received', 'SM00000000000000000000000000000002', now() + interval '2 minutes') RETURNING id`,
		*sub.ContactID, sub.ID).Scan(&detailID); err != nil {
		t.Fatal(err)
	}
	// An event from another submission must not appear.
	other := b.addSubmission(t, b.pool, subOpts{body: "غير ذلك", phone: "+966559999999"})

	d, err := b.store.SubmissionDetail(ctx, sub.Reference, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Reference != sub.Reference || d.Phone != "+966551234567" || d.Body != "حفرة في الطريق" || d.Status != tawasul.StatusNew {
		t.Errorf("detail: %+v", d.SubmissionItem)
	}
	var got []string
	for _, e := range d.Timeline {
		s := e.Kind
		if e.Message != nil {
			s += fmt.Sprintf(":%d:%s:%s", e.Message.ID, e.Message.Direction, e.Message.Status)
			if e.Message.ErrorCode != nil {
				s += fmt.Sprintf(":%d", *e.Message.ErrorCode)
			}
		}
		got = append(got, s)
	}
	want := []string{"created",
		fmt.Sprintf("message_in:%d:inbound:received", inID),
		fmt.Sprintf("message_out:%d:outbound:replied", outID),
		fmt.Sprintf("message_out:%d:outbound:failed:30003", lateID),
		fmt.Sprintf("detail_added:%d:inbound:received", detailID)}
	if !slices.Equal(got, want) {
		t.Errorf("timeline\n got %v\nwant %v", got, want)
	}
	for i := 1; i < len(d.Timeline); i++ {
		if d.Timeline[i].At.Before(d.Timeline[i-1].At) {
			t.Errorf("timeline not in time order at %d", i)
		}
	}

	// Scoped to a department: found only in its own.
	var water, roads int64
	_ = b.pool.QueryRow(ctx, `SELECT id FROM departments WHERE code = 'water'`).Scan(&water)
	_ = b.pool.QueryRow(ctx, `SELECT id FROM departments WHERE code = 'roads'`).Scan(&roads)
	b.exec(t, `UPDATE submissions SET department_id = $2 WHERE id = $1`, sub.ID, roads)
	if d, err := b.store.SubmissionDetail(ctx, sub.Reference, &roads); err != nil || d.DepartmentCode != "roads" {
		t.Errorf("own department: %v", err)
	}
	for _, tc := range []struct {
		ref  string
		dept *int64
	}{{sub.Reference, &water}, {other.Reference, &roads}, {"QS-26-9999", nil}} {
		if _, err := b.store.SubmissionDetail(ctx, tc.ref, tc.dept); tawasul.ErrorCode(err) != tawasul.ENOTFOUND {
			t.Errorf("%s in %v: %v, want ENOTFOUND", tc.ref, tc.dept, err)
		}
	}
}

func TestMessagesAndContactSummary(t *testing.T) {
	t.Parallel()
	b := setupQuery(t)
	ctx := context.Background()
	sub := b.addSubmission(t, b.pool, subOpts{body: "بلاغ"})
	for i := range 4 {
		id, err := b.store.InboundStore(ctx, *sub.ContactID, tawasul.ChannelSMS, fmt.Sprintf("SM%032d", i), fmt.Sprintf("رسالة %d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i < 2: // filed on the submission, no reply
			err = b.store.InboundReply(ctx, id, *sub.ContactID, &sub.ID, tawasul.ChannelSMS, "", "")
		case i == 3: // a help reply, on no submission
			err = b.store.InboundReply(ctx, id, *sub.ContactID, nil, tawasul.ChannelSMS, "مساعدة", "help")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	other := b.addSubmission(t, b.pool, subOpts{body: "آخر", phone: "+966557777777"})
	if _, err := b.store.InboundStore(ctx, *other.ContactID, tawasul.ChannelSMS, "SM99999999999999999999999999999999", "not mine"); err != nil {
		t.Fatal(err)
	}

	var all []*tawasul.MessageItem
	cursor := ""
	for {
		items, next, err := b.store.MessageListByPhone(ctx, "+966551234567", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 {
		t.Fatalf("%d messages, want 5", len(all))
	}
	if all[0].Direction != "outbound" || all[0].SubmissionReference != "" {
		t.Errorf("newest: %s ref %q", all[0].Direction, all[0].SubmissionReference)
	}
	withRef := 0
	for i, m := range all {
		if m.SubmissionReference == sub.Reference {
			withRef++
		}
		if i > 0 && m.CreatedAt.After(all[i-1].CreatedAt) {
			t.Error("messages not newest first")
		}
	}
	if withRef != 2 {
		t.Errorf("%d messages carry the reference, want 2", withRef)
	}
	if items, next, err := b.store.MessageListByPhone(ctx, "+966500000000", "", 0); err != nil || len(items) != 0 || next != "" {
		t.Errorf("unknown phone: %v %q %v", items, next, err)
	}

	c, err := b.store.ContactSummaryByPhone(ctx, "+966551234567")
	if err != nil {
		t.Fatal(err)
	}
	if c.Phone != "+966551234567" || c.Submissions != 1 || c.MessagesIn != 4 || c.MessagesOut != 1 || c.OptedOut() || c.Language != "ar" {
		t.Errorf("summary: %+v", c)
	}
	if _, err := b.store.ContactSummaryByPhone(ctx, "+966500000000"); tawasul.ErrorCode(err) != tawasul.ENOTFOUND {
		t.Errorf("unknown contact: %v", err)
	}
}
