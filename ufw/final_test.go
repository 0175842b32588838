package ufw

import (
	"reflect"
	"testing"
)

// What CompareFinal reports: nothing when ufw holds what the commands were
// predicted to leave (replayed on the reference model of ufw), and one
// difference per rule ufw lacks or holds beyond the prediction, at its
// place, without a shift of the rules after it.
func TestCompareFinal(t *testing.T) {
	hf := loadScenario(t, "active-mixed")
	g := goal(t, false, append([]spec{{port: "8081", proto: "tcp", action: "deny"}}, seedRules...)...)
	cv := converge(t, g, hf, sshFrom)
	states := checkReplay(t, hf, g, cv)
	held := states[len(states)-1]
	if d := CompareFinal(cv.Final, held); d != nil {
		t.Fatalf("ufw holds what was predicted, yet: %v", d)
	}

	v4 := held[V4]
	if len(v4) < 4 {
		t.Fatalf("too few IPv4 rules: %v", v4)
	}
	extra := Rule{Key: Key{Proto: "tcp", DPort: "2222", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "deny"}
	edit := func(l []Rule) map[Family][]Rule { return map[Family][]Rule{V4: l, V6: held[V6]} }

	// One rule more, in third place.
	more := append(append(append([]Rule(nil), v4[:2]...), extra), v4[2:]...)
	want := []Difference{{Family: V4, Position: 3, Rule: extra}}
	if got := CompareFinal(cv.Final, edit(more)); !reflect.DeepEqual(got, want) {
		t.Errorf("an unpredicted rule: %v, want %v", got, want)
	}
	if s := want[0].String(); s != `ufw holds IPv4 rule 3, "deny 2222/tcp from 0.0.0.0/0", which was not predicted` {
		t.Errorf("String: %q", s)
	}

	// The second rule missing.
	fewer := append(append([]Rule(nil), v4[:1]...), v4[2:]...)
	want = []Difference{{Family: V4, Position: 2, Rule: v4[1], Missing: true}}
	if got := CompareFinal(cv.Final, edit(fewer)); !reflect.DeepEqual(got, want) {
		t.Errorf("a missing rule: %v, want %v", got, want)
	}
	if s := (Difference{Family: V6, Position: 2, Rule: extra, Missing: true}).String(); s != `IPv6 rule 2, "deny 2222/tcp from ::/0", was predicted but ufw does not hold it` {
		t.Errorf("String: %q", s)
	}

	// The first rule last: missing at its place, unpredicted at the other.
	moved := append(append([]Rule(nil), v4[1:]...), v4[0])
	got := CompareFinal(cv.Final, edit(moved))
	if len(got) != 2 || !got[0].Missing || got[0].Position != 1 || got[0].Rule != v4[0] ||
		got[1].Missing || got[1].Position != len(v4) || got[1].Rule != v4[0] {
		t.Errorf("a moved rule: %v", got)
	}

	// An IPv6 list ufw does not hold at all.
	got = CompareFinal(cv.Final, map[Family][]Rule{V4: v4})
	if len(got) != len(held[V6]) || len(got) == 0 {
		t.Fatalf("no IPv6 rules held: %v", got)
	}
	for i, d := range got {
		if d.Family != V6 || !d.Missing || d.Position != i+1 || d.Rule != held[V6][i] {
			t.Errorf("no IPv6 rules held, difference %d: %+v", i, d)
		}
	}
}
