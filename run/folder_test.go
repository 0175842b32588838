package run

import (
	"context"
	"strings"
	"testing"
)

// A file in a folder the host lacks: plan fails the task when no earlier
// task may create the folder, and lets it stand when one may (the
// directory task of that folder, or a command whose effects are unknown).
func TestPlanFailsAFileInAMissingFolder(t *testing.T) {
	for _, tc := range []struct {
		name, before string
		fails        bool
	}{
		{"nothing creates it", "", true},
		{"a directory task of another folder", "task \"directory\" \"other\" {\n  path = \"ROOT/other\"\n}\n", true},
		{"a directory task of the folder", "task \"directory\" \"app\" {\n  path = \"ROOT/app\"\n}\n", false},
		{"a user task (its home folder is not listed)", "task \"user\" \"bob\" {\n  name = \"hakotestbob\"\n}\n", false},
		{"a command", "task \"command\" \"mk\" {\n  command = \"mkdir ROOT/app\"\n}\n", false},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			p, root := localPlan(t, tc.before+"task \"file\" \"conf\" {\n  path    = \"ROOT/app/conf\"\n  content = \"a=1\\n\"\n}\n")
			hp := Plan(context.Background(), p, localOpts)
			if hp[0].Err != nil {
				t.Fatal(hp[0].Err)
			}
			var err error
			for _, sc := range hp[0].Changes {
				if sc.Step.Task.Address().Name == "conf" {
					err = sc.Err
				}
			}
			if !tc.fails {
				if err != nil {
					t.Errorf("plan fails the file: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "the folder "+root+"/app does not exist on the host, and no earlier task creates it") {
				t.Errorf("plan does not fail the file as it should: %v", err)
			}
			// apply refuses it the same way, before any change.
			rec := &recorder{}
			Apply(context.Background(), p, localOpts, rec)
			if got := rec.statuses(); !strings.Contains(got, "file.conf=failed") {
				t.Errorf("apply: %s", got)
			}
		})
	}
}
