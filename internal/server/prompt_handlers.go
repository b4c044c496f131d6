package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"tawasul/internal/conversation"
	"tawasul/internal/render"
	"tawasul/internal/tawasul"
)

// PromptPage is the data of the public page where a resident answers a
// question Tawasul sent them by SMS (/r/{token}). It shows nothing
// personal: whoever holds the link sees only the question.
type PromptPage struct {
	render.Base
	Token  string
	Prompt *conversation.WebPrompt
	Thanks string // set once answered
	Error  string
}

// handlePromptPage shows the question and its answers, or says it is
// closed.
func (s *Server) handlePromptPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	wp, err := s.Conversation.PromptForWeb(r.Context(), token, s.langOf(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.page(w, r, http.StatusOK, "prompt", &PromptPage{Token: token, Prompt: wp})
}

// handlePromptAnswer records the chosen answer, as if it had come by SMS,
// and thanks the resident. A closed question answers 409 with the page
// saying so; no choice answers 400 with the form again.
func (s *Server) handlePromptAnswer(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	token, l := chi.URLParam(r, "token"), s.langOf(r)
	thanks, err := s.Conversation.AnswerWeb(r.Context(), token, r.PostForm.Get("answer"), l)
	switch tawasul.ErrorCode(err) {
	case "":
		s.page(w, r, http.StatusOK, "prompt", &PromptPage{Token: token, Thanks: thanks})
	case tawasul.EINVALID, tawasul.ECONFLICT:
		wp, perr := s.Conversation.PromptForWeb(r.Context(), token, l)
		if perr != nil {
			s.error(w, r, perr)
			return
		}
		s.page(w, r, statusOf[tawasul.ErrorCode(err)], "prompt", &PromptPage{Token: token, Prompt: wp, Error: l.T(tawasul.ErrorKey(err))})
	default:
		s.error(w, r, err)
	}
}
