package ufw

import "fmt"

// After the commands ran, the rules ufw really holds should be the ones
// Converge predicted (Convergence.Final). When they are not, the
// prediction was wrong, and the lockout check examined another firewall
// than the one the host now has; CompareFinal says where they part.

// Difference is a rule on which the predicted final rules and the rules ufw
// holds disagree.
type Difference struct {
	Family Family
	// Position is 1-based, in the list that has the rule: the predicted one
	// when Missing, else ufw's.
	Position int
	Rule     Rule
	Missing  bool // predicted, but ufw does not hold it; else ufw holds it, unpredicted
}

func (d Difference) String() string {
	r := describeRule(d.Rule, []Family{d.Family}, true)
	if d.Missing {
		return fmt.Sprintf("%s rule %d, %q, was predicted but ufw does not hold it", d.Family, d.Position, r)
	}
	return fmt.Sprintf("ufw holds %s rule %d, %q, which was not predicted", d.Family, d.Position, r)
}

// CompareFinal compares the final rules of a convergence with the rules
// ufw holds (a Host's Lists, read after the commands ran), family by
// family and in order: nil when they are the same. Otherwise it lists the
// predicted rules ufw lacks and the rules ufw holds that were not
// predicted, matched up by a longest common subsequence, so that one
// extra rule is one difference and not a shift of every rule after it; a
// rule in another place than predicted is both missing and unpredicted.
func CompareFinal(predicted map[Family][]Entry, held map[Family][]Rule) []Difference {
	var out []Difference
	for _, f := range []Family{V4, V6} {
		want := make([]Rule, len(predicted[f]))
		for i, e := range predicted[f] {
			want[i] = e.Rule
		}
		out = append(out, compareList(f, want, held[f])...)
	}
	return out
}

func compareList(f Family, want, got []Rule) []Difference {
	// lcs[i][j] is the length of the longest common subsequence of want[i:]
	// and got[j:].
	lcs := make([][]int, len(want)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(got)+1)
	}
	for i := len(want) - 1; i >= 0; i-- {
		for j := len(got) - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []Difference
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case i < len(want) && j < len(got) && want[i] == got[j]:
			i, j = i+1, j+1
		case j < len(got) && (i == len(want) || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, Difference{Family: f, Position: j + 1, Rule: got[j]})
			j++
		default:
			out = append(out, Difference{Family: f, Position: i + 1, Rule: want[i], Missing: true})
			i++
		}
	}
	return out
}
