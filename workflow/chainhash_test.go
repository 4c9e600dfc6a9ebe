package workflow

import (
	"encoding/json"
	"testing"
)

// chainHasher must agree with chainHash, the definition, on every input:
// the fast path on what it accepts, the general one on the rest.
func FuzzChainHasher(f *testing.F) {
	for _, p := range []string{`{}`, `{"a":1}`, `{"a": 1}`, `[1,2.5e-3,-0,true,false,null,"x\u00e9\n"]`, `{"a":"<b>"}`, `{"a":"é"}`,
		`{"a":01}`, `{"a":1.}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":[}`, `{"a":1,}`, `"s"`, `1e+5`, `-`, ``, `{"a":"\u12G4"}`, "{\"a\":\"\u2028\"}", `{"k":{"n":[[],{}]}}`} {
		f.Add(p, "ada", "lease.grant")
	}
	f.Add(`{}`, "a\"b", "x<y")
	f.Fuzz(func(t *testing.T, payload, actor, action string) {
		want, werr := chainHash(genesisHash, 7, 1780300800000, actor, action, "resource:r", payload)
		ok, err := newChainHasher().matches(genesisHash, 7, 1780300800000, actor, action, "resource:r", payload, want)
		if (err != nil) != (werr != nil) || (werr == nil && !ok) {
			t.Fatalf("payload %q actor %q: fast %v %v, chainHash %v", payload, actor, ok, err, werr)
		}
		if compactJSON(payload) && !json.Valid([]byte(payload)) {
			t.Fatalf("compactJSON accepts invalid %q", payload)
		}
	})
}
