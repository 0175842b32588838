package tasks

import (
	_ "embed" // ufw_probe.sh
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/ufw"
)

// ufwKernel asks what `ufw status verbose` learns beside ufw's files:
// whether ufw is installed, whether the kernel holds ufw's chains (what
// ufw calls active) and the forwarding switches. With ufw's files, read
// by File probes, it is all of ufw's state, without running ufw: ufw is a
// Python program, and starting it takes more than the whole rest of a
// no-op run's probe.
type ufwKernel struct{}

//go:embed ufw_probe.sh
var ufwKernelFunc string

func (ufwKernel) Call() (probe.Func, []string) {
	return probe.Func{Name: "ufw_kernel", Source: ufwKernelFunc}, nil
}
func (ufwKernel) Describe() string { return "the ufw probe" }

// Fresh: a unit test's fresh host has no ufw.
func (ufwKernel) Fresh() any { return ufw.Kernel{Exit4: -1, Exit6: -1} }

func (r ufwKernel) Decode(recs []probe.Record) (any, error) {
	k := ufw.Kernel{Exit4: -1, Exit6: -1, Sysctl: map[string]string{}}
	flag := func(v string) (bool, error) {
		switch v {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return false, fmt.Errorf("unexpected answer %q from %s", v, r.Describe())
	}
	seen := false
	for _, rec := range recs {
		v := string(rec.Value)
		var err error
		switch rec.Field {
		case "ipv6":
			k.IPv6, err = flag(v)
		case "installed":
			k.Installed, err = flag(v)
			seen = true
		case "sysctl":
			p, val, _ := strings.Cut(v, " ")
			k.Sysctl[p] = val
		case "exit4", "exit6":
			var n int
			if n, err = strconv.Atoi(v); err == nil {
				if rec.Field == "exit4" {
					k.Exit4 = n
				} else {
					k.Exit6 = n
				}
			}
		case "chains4":
			k.Chains4 = strings.Fields(v)
		case "chains6":
			k.Chains6 = strings.Fields(v)
		default:
			err = fmt.Errorf("unexpected answer %q from %s", rec.Field, r.Describe())
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen || k.Installed && k.Exit4 == -1 {
		return nil, fmt.Errorf("%s answered in part", r.Describe())
	}
	return k, nil
}
