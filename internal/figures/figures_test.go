package figures

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRecordAppendsALinePerFigure(t *testing.T) {
	name := filepath.Join(t.TempDir(), "figures")
	t.Setenv("HAKO_FIGURES", name)
	Record(t, "race: %d attempts, %d successes", 60, 0)
	Record(t, "two\nlines")
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := "TestRecordAppendsALinePerFigure: race: 60 attempts, 0 successes\nTestRecordAppendsALinePerFigure: two lines\n"
	if string(got) != want {
		t.Fatalf("figures file:\n%s\nwant:\n%s", got, want)
	}
}
