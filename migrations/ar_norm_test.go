package migrations_test

import (
	"context"
	"testing"

	"tawasul/internal/arabic"
	"tawasul/internal/dbtest"
)

// The migration's ar_norm (which fills submissions.body_norm) must agree with
// arabic.Normalize, which normalises search queries in Go.
func TestARNormMatchesGo(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	for _, s := range []string{
		"أحمد إبراهيم آمال", "رقم ٠٥٥١٢٣٤٥٦٧ و ۱۲۳", "مُسْتَشْفَى", "ـــمدرســـة", "الانارة   طافية\nفي حي الريان؟",
		"Street LIGHT is Broken ، please", "ﻻ إله", "مؤسسة شاطئ", "",
	} {
		var got string
		if err := pool.QueryRow(context.Background(), `SELECT ar_norm($1)`, s).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := arabic.Normalize(s); got != want {
			t.Errorf("ar_norm(%q) = %q, Go Normalize = %q", s, got, want)
		}
	}
}
