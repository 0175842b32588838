package run

import (
	"context"
	"errors"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// -ask-become-password's password goes to the hosts with become that set
// none of their own.
func TestBecomePasswordOption(t *testing.T) {
	var got hosts.Config
	o := Options{BecomePassword: "asked", Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
		got = cfg
		return nil, errors.New("not dialing")
	}}
	for _, c := range []struct {
		cfg  hosts.Config
		want string
	}{
		{hosts.Config{Become: true}, "asked"},
		{hosts.Config{Become: true, BecomePassword: "own"}, "own"},
		{hosts.Config{}, ""},
	} {
		_, _ = o.dial(t.Context(), c.cfg)
		if got.BecomePassword != c.want {
			t.Errorf("%+v: got %q, want %q", c.cfg, got.BecomePassword, c.want)
		}
	}
}
