package tawasul

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a staff role. A user has one or more roles; every staff route
// declares the roles that may use it.
type Role string

// The staff roles.
const (
	RoleAdmin       Role = "admin"       // manages users, tokens, settings and jobs
	RoleSupervisor  Role = "supervisor"  // watches the dashboard and every queue
	RoleAgent       Role = "agent"       // answers calls and texts, logs submissions
	RoleModerator   Role = "moderator"   // reviews ideas and comments before publication
	RoleCoordinator Role = "coordinator" // runs volunteer opportunities and shifts
	RoleDepartment  Role = "department"  // works one department's queue
)

// AllRoles lists every role in display order.
var AllRoles = []Role{RoleAdmin, RoleSupervisor, RoleAgent, RoleModerator, RoleCoordinator, RoleDepartment}

// ParseRole returns the role named s (case-insensitive), or an EINVALID error.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(AllRoles, r) {
		return "", Errorf(EINVALID, "error.role_unknown", fmt.Sprintf("unknown role %q", s))
	}
	return r, nil
}

// ParseRoles parses a comma-separated list of roles, dropping duplicates.
func ParseRoles(s string) ([]Role, error) {
	var roles []Role
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		r, err := ParseRole(part)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, Errorf(EINVALID, "error.role_required", "at least one role is required")
	}
	return roles, nil
}

// SeesPersonalData reports whether a role may see residents' personal data
// (phone numbers, names). Moderators and coordinators work on published or
// volunteer material and see it only where a later feature grants it.
func (r Role) SeesPersonalData() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleDepartment:
		return true
	}
	return false
}
