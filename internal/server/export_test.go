package server

import "github.com/go-chi/chi/v5"

// ChiRouter exposes the route table to tests.
func ChiRouter(s *Server) chi.Routes { return s.router }
