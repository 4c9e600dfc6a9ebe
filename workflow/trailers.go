package workflow

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LeaseTrailerKey is the git trailer with which a commit names the lease it
// changed a resource under: "Oxygen-Lease: RESOURCE TOKEN OWNER". The
// commit-msg hook writes one per lease; `oxygen check --range` verifies them
// against the store.
const LeaseTrailerKey = "Oxygen-Lease"

// LeaseTrailer is one Oxygen-Lease trailer.
type LeaseTrailer struct {
	Resource string
	Token    int64
	Owner    string
}

func (t LeaseTrailer) String() string {
	return fmt.Sprintf("%s: %s %d %s", LeaseTrailerKey, t.Resource, t.Token, t.Owner)
}

// parseLeaseTrailer reads a trailer value: "RESOURCE TOKEN OWNER".
func parseLeaseTrailer(value string) (LeaseTrailer, bool) {
	f := strings.Fields(value)
	if len(f) != 3 {
		return LeaseTrailer{}, false
	}
	token, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || token < 1 {
		return LeaseTrailer{}, false
	}
	return LeaseTrailer{Resource: f[0], Token: token, Owner: f[2]}, true
}

// CommitMessage is the message file of a commit being made, as git hands
// it to the commit-msg hook.
type CommitMessage struct {
	path string
	// Empty is set when nothing but comments and blank lines is left: git
	// will abort the commit, so nothing is proved and no trailer added (a
	// message of trailers alone would commit).
	Empty bool
}

// ReadCommitMessage reads the message file, before anything is recorded
// for the commit.
func (s *Service) ReadCommitMessage(ctx context.Context, file string) (*CommitMessage, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, Errorf(EINVALID, "commit message file %s: %v", file, err)
	}
	msg, err := os.ReadFile(abs)
	if err != nil {
		return nil, Errorf(EINVALID, "read the commit message: %v", unwrapPathError(err))
	}
	kept, err := s.gitWithInput(ctx, beforeScissors(msg), "stripspace", "--strip-comments")
	if err != nil {
		return nil, err
	}
	return &CommitMessage{path: abs, Empty: len(bytes.TrimSpace(kept)) == 0}, nil
}

// AddTrailers adds trailers (full "Key: value" lines) to the message, where
// git keeps trailers. A lease line already there is not added again, so an
// amended commit keeps the leases it was first made under and gains the
// new ones; an audit head already there is replaced by the newer one.
func (s *Service) AddTrailers(ctx context.Context, m *CommitMessage, trailers []string) error {
	if len(trailers) == 0 || m.Empty {
		return nil
	}
	args := []string{"-c", "trailer." + LeaseTrailerKey + ".ifexists=addIfDifferent", "-c", "trailer." + AnchorTrailerKey + ".ifexists=replace",
		"interpret-trailers", "--in-place"}
	for _, t := range trailers {
		args = append(args, "--trailer", t)
	}
	_, err := s.git(ctx, append(args, m.path)...)
	return err
}

// beforeScissors cuts a commit message at git's scissors line (git commit
// --verbose puts the diff below it), which git removes before committing.
func beforeScissors(msg []byte) []byte {
	const scissors = " ------------------------ >8 ------------------------"
	for i := 0; i < len(msg); {
		end := bytes.IndexByte(msg[i:], '\n')
		line := msg[i:]
		if end >= 0 {
			line = msg[i : i+end]
		}
		if bytes.HasSuffix(line, []byte(scissors)) {
			return msg[:i]
		}
		if end < 0 {
			break
		}
		i += end + 1
	}
	return msg
}
