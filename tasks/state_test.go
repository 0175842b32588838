package tasks

import (
	"context"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

func TestScriptAsksEachProbeOnce(t *testing.T) {
	script, order := Script([]Probe{{ProbeStat, "/a"}, {ProbeRead, "/a"}, {ProbeStat, "/a"}, {ProbeExit, "it's"}})
	if len(order) != 3 {
		t.Fatalf("order %v", order)
	}
	if !strings.Contains(script, `x 2 'it'\''s'`) {
		t.Errorf("command not quoted:\n%s", script)
	}
}

func TestParseAnswers(t *testing.T) {
	order := []Probe{{ProbeStat, "/etc/motd"}, {ProbeRead, "/etc/motd"}, {ProbeExit, "true"}, {ProbeStat, "/nope"}}
	out := "S 0 regular file\t644\troot\troot\t0\t0\t6\nC 1 aGVsbG8K\nX 2 0\nS 3 -\n" + endMarker + "\n"
	st, err := ParseAnswers([]byte(out), order)
	if err != nil {
		t.Fatal(err)
	}
	if fi := st.Stat("/etc/motd"); !fi.Exists || fi.Mode != 0o644 || fi.User != "root" || fi.Size != 6 {
		t.Errorf("stat %+v", fi)
	}
	if c := st.Content("/etc/motd"); string(c.Data) != "hello\n" {
		t.Errorf("content %q", c.Data)
	}
	if st.Exit("true") != 0 || st.Stat("/nope").Exists {
		t.Error("exit or missing path wrong")
	}
}

func TestParseAnswersRejectsGarbage(t *testing.T) {
	order := []Probe{{ProbeStat, "/a"}}
	for _, out := range []string{"S 7 -\n", "S 0 one\ttwo\n", "Z 0 x\n", ""} {
		if _, err := ParseAnswers([]byte(out), order); err == nil {
			t.Errorf("accepted %q", out)
		}
	}
}

func TestOutputProbe(t *testing.T) {
	cmds := []string{"printf 'a=b\\n\\nlast\\n'; exit 3", "true", "echo x >&2", "printf 'no newline'"}
	var probes []Probe
	for _, c := range cmds {
		probes = append(probes, Probe{ProbeOut, c})
	}
	st, err := Gather(t.Context(), local(), probes)
	if err != nil {
		t.Fatal(err)
	}
	want := []Output{{3, []byte("a=b\n\nlast\n")}, {0, []byte("")}, {0, []byte("")}, {0, []byte("no newline")}}
	for i, c := range cmds {
		got := st.Output(c)
		if got.ExitCode != want[i].ExitCode || string(got.Stdout) != string(want[i].Stdout) {
			t.Errorf("%s: %d %q", c, got.ExitCode, got.Stdout)
		}
	}
}

func TestParseSSHConnection(t *testing.T) {
	order := []Probe{{ProbeStat, "/a"}}
	st, err := ParseAnswers([]byte("N 192.168.0.10 51234 192.168.0.64 50022\nS 0 -\n"), order)
	if err != nil {
		t.Fatal(err)
	}
	if e := st.Endpoint; e.ClientAddr != "192.168.0.10" || e.ServerAddr != "192.168.0.64" || e.ServerPort != 50022 {
		t.Errorf("endpoint %+v", e)
	}
	st, _ = ParseAnswers([]byte("N \nS 0 -\n"), order)
	if st.Endpoint.ServerPort != 0 {
		t.Errorf("no SSH_CONNECTION: %+v", st.Endpoint)
	}
}

func TestProbeErrorsNameNoCommand(t *testing.T) {
	order := []Probe{{ProbeOut, "curl -H 'token: hunter2' x"}}
	_, err := ParseAnswers([]byte("O 0 notanumber\n"), order)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
	_, err = ParseAnswers([]byte(""), order)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

// cutHost answers every command with output that Run had to cut.
type cutHost struct{ hosts.Host }

func (cutHost) Name() string { return "cut" }
func (cutHost) Run(context.Context, string) (hosts.Result, error) {
	return hosts.Result{Stdout: []byte("S 0 -\n"), StdoutTruncated: true}, nil
}

// Answers cut short by the output bound are refused as such, not read
// as if whole.
func TestGatherRefusesTruncatedAnswers(t *testing.T) {
	_, err := Gather(t.Context(), cutHost{}, []Probe{{Kind: ProbeStat, Arg: "/x"}})
	if err == nil || !strings.Contains(err.Error(), "gathering state: the host's answers are larger than 64 MiB") {
		t.Errorf("err %v", err)
	}
}
