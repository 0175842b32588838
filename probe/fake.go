package probe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hako-dev/hako/hosts"
)

// Fake answers requests from Go values, for unit tests of the packages that
// ask (tasks, preflight), so that none of them writes the wire format by hand.
type Fake struct {
	answers map[string]any
	// Else answers a request that was not Set (Fresh, or a test's own);
	// nil: such a request is an error.
	Else func(Request) any
}

// NewFake returns a Fake that answers nothing yet.
func NewFake() *Fake { return &Fake{answers: map[string]any{}} }

// Set gives the answer to r, of the type r's Decode returns (FileInfo for
// Stat, Content for File, int for Exit, ...).
func (f *Fake) Set(r Request, answer any) *Fake {
	f.answers[key(r)] = answer
	return f
}

// Answer answers reqs as Gather would.
func (f *Fake) Answer(reqs []Request) (*Answers, error) {
	a := NewAnswers()
	for _, r := range reqs {
		k := key(r)
		v, ok := f.answers[k]
		if fr, isFile := r.(File); !ok && isFile && fr.Expect != "" {
			// A File set without Expect answers as the host would with it.
			if v, ok = f.answers[key(File{Path: fr.Path})]; ok {
				v = v.(Content).Expecting(fr.Expect)
			}
		}
		switch {
		case ok:
		case f.Else != nil:
			v = f.Else(r)
		default:
			return nil, fmt.Errorf("gathering state: no answer for %s", r.Describe())
		}
		a.m[k] = v
	}
	return a, nil
}

// Fresh is what a fresh host answers to this package's requests: no such
// path, file, folder, account, unit or package; commands exit 1; root is
// probing, logged in as root. A request of another package answers for
// itself when it has a Fresh method.
func Fresh(r Request) any {
	switch r := r.(type) {
	case Stat:
		return FileInfo{}
	case File:
		return Content{}
	case Exit:
		return 1
	case Output:
		return CmdOutput{ExitCode: 1}
	case Leftovers:
		return LeftoverFiles{Dir: r.Dir}
	case RealDir:
		return r.Path
	case Endpoint:
		return hosts.Endpoint{}
	case Login:
		return LoginInfo{Name: "root"}
	case Account:
		return AccountInfo{Name: r.Name}
	case Unit:
		return UnitInfo{}
	case Packages:
		return PackagesInfo{Installed: map[string]bool{}}
	case NetDevices:
		return map[string]string(nil)
	case Configs:
		return ConfigFiles{Data: map[string][]byte{}, Unreadable: map[string]bool{}}
	case Facts:
		return HostFacts{Network: NetworkNone, SSHD: SSHDNone, NMConnections: []NMProfile{}}
	case interface{ Fresh() any }:
		// A request of another package that says what a fresh host answers.
		return r.Fresh()
	default:
		return nil
	}
}

// Expecting is c as a File with Expect set to expect answers it: with
// the hash of readable content, and without the content when its hash is
// expect.
func (c Content) Expecting(expect string) Content {
	if !c.Readable {
		return c
	}
	sum := sha256.Sum256(c.Data)
	c.SHA256 = hex.EncodeToString(sum[:])
	if c.SHA256 == expect {
		c.Readable, c.Data = false, nil
	}
	return c
}
