package workflow

import (
	"context"
	"strings"
)

// ResolveDomain decides which domain owner acts for. The order is: an explicit
// --domain, then envDomain (OXYGEN_DOMAIN, passed only when owner is the
// caller), then the config's agents map, then an owner named like a domain.
// An explicit domain that contradicts the agents map, or an owner named like
// another domain, is refused: one owner belongs to one domain.
func (c *Config) ResolveDomain(owner, explicit, envDomain string) (string, error) {
	if !validOwner(owner) {
		return "", Errorf(EINVALID, "owner %q: use letters, digits and . _ @ + - (at most 64)", owner)
	}
	_, ownerIsDomain := c.Domain(owner)
	mapped, inAgents := c.Agents[owner]
	check := func(domain, source string) (string, error) {
		if _, ok := c.Domain(domain); !ok {
			return "", Errorf(EINVALID, "%s %q is not a domain (domains: %s)", source, domain, strings.Join(c.DomainNames(), ", "))
		}
		if inAgents && mapped != domain {
			return "", Errorf(EINVALID, "%s %q contradicts agents.%s: %s in the config", source, domain, owner, mapped)
		}
		if ownerIsDomain && owner != domain {
			return "", Errorf(EINVALID, "%s %q contradicts the owner's name: %q is itself a domain", source, domain, owner)
		}
		return domain, nil
	}
	switch {
	case explicit != "":
		return check(explicit, "--domain")
	case envDomain != "":
		return check(envDomain, "OXYGEN_DOMAIN")
	case inAgents:
		return mapped, nil
	case ownerIsDomain:
		return owner, nil
	}
	return "", Errorf(EINVALID, "cannot tell which domain %q acts for: pass --domain, set OXYGEN_DOMAIN, or map it under agents: in %s (domains: %s)",
		owner, ConfigFile, strings.Join(c.DomainNames(), ", "))
}

// Actor is someone acting, with the domain they act for.
type Actor struct {
	Owner  string
	Domain string
}

// checkOwnerName validates an actor name that needs no domain.
func checkOwnerName(flag, owner string) error {
	if owner == "" {
		return Errorf(EINVALID, "who is acting? pass %s or set OXYGEN_OWNER", flag)
	}
	if !validOwner(owner) {
		return Errorf(EINVALID, "%s %q: use letters, digits and . _ @ + - (at most 64)", flag, owner)
	}
	return nil
}

// ConfiguredOwner is the repository's default identity, `git config
// oxygen.owner` as the worktree sees it (so it may be set per worktree with
// extensions.worktreeConfig): "" when unset or outside git. It spawns git,
// so it is read only when neither a flag nor OXYGEN_OWNER names someone.
func (s *Service) ConfiguredOwner() string {
	out, err := s.git(context.Background(), "config", "--get", "oxygen.owner")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
