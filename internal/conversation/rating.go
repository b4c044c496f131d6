package conversation

import (
	"context"
	"strconv"

	"tawasul/internal/arabic"
	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
)

// Rating asks a resident to rate the handling of a submission from 1 (poor)
// to 5 (excellent). Payload: {"reference": "QS-26-0001"}. The rating goes on
// the submission's timeline as a "rated" event.
type Rating struct{}

// ratingWords are the spelled-out answers accepted besides digits, in
// arabic.Keyword form.
var ratingWords = map[string]string{
	"واحد": "1", "اثنين": "2", "اثنان": "2", "ثلاثه": "3", "اربعه": "4", "خمسه": "5",
	"one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
}

// Question implements PromptKind.
func (Rating) Question(l *i18n.Lang, p *tawasul.Prompt) string {
	ref, _ := p.Payload["reference"].(string)
	return l.T("prompt.rating.question", "Ref", ref)
}

// Hint implements PromptKind.
func (Rating) Hint(l *i18n.Lang, _ *tawasul.Prompt) string { return l.T("prompt.rating.hint") }

// Choices implements PromptKind: 5 down to 1.
func (Rating) Choices(l *i18n.Lang, p *tawasul.Prompt) []Choice {
	var cs []Choice
	for n := 5; n >= 1; n-- {
		v := strconv.Itoa(n)
		cs = append(cs, Choice{Value: v, Label: l.T("prompt.rating.choice_" + v)})
	}
	return cs
}

// Parse implements PromptKind: one digit 1–5, Western or Arabic-Indic,
// alone or with punctuation around it, or the number as a word.
func (Rating) Parse(text string) (string, bool) {
	k := arabic.Keyword(text)
	if len(k) == 1 && k[0] >= '1' && k[0] <= '5' {
		return k, true
	}
	if v, ok := ratingWords[k]; ok {
		return v, true
	}
	return "", false
}

// Record implements PromptKind.
func (Rating) Record(ctx context.Context, st *postgres.Store, p *tawasul.Prompt, answer string) error {
	if p.SubmissionID == nil {
		return nil
	}
	n, _ := strconv.Atoi(answer)
	return st.SubmissionEventInsert(ctx, *p.SubmissionID, "rated", nil, map[string]any{"rating": n})
}

// Thanks implements PromptKind.
func (Rating) Thanks(l *i18n.Lang, _ *tawasul.Prompt, answer string) string {
	return l.T("prompt.rating.thanks", "Rating", answer)
}
