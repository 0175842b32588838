// Package results is the record bench/ writes of each case it measured,
// and the table `make bench` makes of them (bench/RESULTS.md).
package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Result is one case: hako's median time, and the floor it is held
// against (OpenSSH's `ssh host true`, or to all hosts at once) measured in
// the same run, so that the machine's load weighs on both.
type Result struct {
	Case   string        `json:"case"`
	Hako   time.Duration `json:"hako_ns"`
	Floor  time.Duration `json:"floor_ns,omitempty"` // 0: no floor for this case
	Target string        `json:"target,omitempty"`   // the goal, as "≤ 1.0x"
	Met    *bool         `json:"met,omitempty"`      // whether Target is met; nil: no target
	Extra  string        `json:"extra,omitempty"`    // other figures (counts, per host costs)

	// Ansible is Ansible's median on the same case, measured in the same
	// run; 0: not measured.
	Ansible time.Duration `json:"ansible_ns,omitempty"`

	// The goals Judge makes Target and Met of (0: no such goal): hako
	// at most MaxRatio times its floor, at most MaxTime, and at least
	// MinFaster times faster than Ansible.
	MaxRatio  float64       `json:"max_ratio,omitempty"`
	MaxTime   time.Duration `json:"max_ns,omitempty"`
	MinFaster float64       `json:"min_faster,omitempty"`
}

// Judge sets r's Target and Met from its goals (MaxRatio, MaxTime,
// MinFaster): met only when every one is. A goal whose figure was not
// measured (no floor, Ansible not run) is not met.
func (r *Result) Judge() {
	var target []string
	if r.MaxRatio > 0 {
		target = append(target, fmt.Sprintf("≤ %.1fx", r.MaxRatio))
	}
	if r.MaxTime > 0 {
		target = append(target, "≤ "+seconds(r.MaxTime))
	}
	if r.MinFaster > 0 {
		target = append(target, fmt.Sprintf("≥ %.0fx faster than Ansible", r.MinFaster))
	}
	if len(target) == 0 {
		return
	}
	r.Target = strings.Join(target, ", ")
	met := len(r.misses()) == 0
	r.Met = &met
}

// misses says, for each goal of r not met, by how much.
func (r Result) misses() []string {
	var out []string
	if r.MaxRatio > 0 {
		switch ratio := float64(r.Hako) / float64(r.Floor); {
		case r.Floor <= 0:
			out = append(out, "floor not measured")
		case ratio > r.MaxRatio:
			out = append(out, fmt.Sprintf("%.2fx, %.0f%% over", ratio, (ratio/r.MaxRatio-1)*100))
		}
	}
	if r.MaxTime > 0 && r.Hako > r.MaxTime {
		out = append(out, fmt.Sprintf("%s, %s over", seconds(r.Hako), seconds(r.Hako-r.MaxTime)))
	}
	if r.MinFaster > 0 {
		switch faster := float64(r.Ansible) / float64(r.Hako); {
		case r.Ansible <= 0:
			out = append(out, "Ansible not measured")
		case faster < r.MinFaster:
			out = append(out, fmt.Sprintf("%.1fx faster than Ansible, %.0f%% short", faster, (1-faster/r.MinFaster)*100))
		}
	}
	return out
}

// Read reads the results r holds, one JSON object a line.
func Read(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// Machine describes this machine: CPU model, cores, kernel.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel += " " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores, %s, %s", model, runtime.NumCPU(), kernel, runtime.Version())
}

// Write writes the Markdown table of rs, with when and where they were
// measured and notes (one paragraph each) after it.
func Write(w io.Writer, when time.Time, machine string, rs []Result, notes []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# bench results\n\nWritten by `make bench` on %s.\n\nMachine: %s.\n\n", when.UTC().Format("2006-01-02 15:04 MST"), machine)
	b.WriteString("| case | hako (median) | floor (median) | ratio | Ansible (median) | target | met | other figures |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		floor, ratio := "–", "–"
		if r.Floor > 0 {
			floor = ms(r.Floor)
			ratio = fmt.Sprintf("%.2fx", float64(r.Hako)/float64(r.Floor))
		}
		met := "–"
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*r.Met]
		}
		ansible := "–"
		if r.Ansible > 0 {
			ansible = fmt.Sprintf("%s (hako %.1fx faster)", ms(r.Ansible), float64(r.Ansible)/float64(r.Hako))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Case), ms(r.Hako), floor, ratio, ansible, cell(or(r.Target, "–")), met, cell(or(r.Extra, "")))
	}
	var met, missed []string
	for _, r := range rs {
		if r.Met == nil {
			continue
		}
		if *r.Met {
			met = append(met, fmt.Sprintf("%s (%s, target %s)", r.Case, r.figures(), r.Target))
			continue
		}
		by := ""
		if m := r.misses(); len(m) > 0 {
			by = ": " + strings.Join(m, "; ")
		} else { // a record with Target and Met but no goals to say by how much
			var max float64
			if _, err := fmt.Sscanf(r.Target, "≤ %fx", &max); err == nil && max > 0 && r.Floor > 0 {
				ratio := float64(r.Hako) / float64(r.Floor)
				by = fmt.Sprintf(": %.2fx, %.0f%% over", ratio, (ratio/max-1)*100)
			}
		}
		missed = append(missed, fmt.Sprintf("%s (target %s%s)", r.Case, r.Target, by))
	}
	if len(met)+len(missed) > 0 {
		fmt.Fprintf(&b, "\nTargets met: %s.\n\nTargets not met: %s.\n", list(met), list(missed))
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// figures are r's time and ratios, as its target is judged on.
func (r Result) figures() string {
	var f []string
	if r.Floor > 0 {
		f = append(f, fmt.Sprintf("%.2fx", float64(r.Hako)/float64(r.Floor)))
	}
	if r.MaxTime > 0 {
		f = append(f, seconds(r.Hako))
	}
	if r.Ansible > 0 {
		f = append(f, fmt.Sprintf("%.1fx faster than Ansible", float64(r.Ansible)/float64(r.Hako)))
	}
	return strings.Join(f, ", ")
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func list(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, "; ")
}
