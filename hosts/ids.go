package hosts

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// OwnerName matches what may name an owner or group: a numeric id, or a
// name as useradd and groupadd accept it (no leading '-', so it is never
// taken for an option; no ':', '/', space or quote). The trailing '$' is
// for Samba machine accounts.
var OwnerName = regexp.MustCompile(`^(?:[0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$`)

// maxID is (uid_t)-1, which no user or group may have.
const maxID = 1<<32 - 1

// CheckOwnerName says why s cannot name a user or group ("" and valid names
// give nil).
func CheckOwnerName(what, s string) error {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n >= maxID {
		// The host keeps ids in 32 bits: a larger one would wrap (4294967296
		// is root), and 4294967295 means "leave as it is" to chown.
		return fmt.Errorf("%s %s is not a valid id (at most %d)", what, s, maxID-1)
	}
	if s == "" || OwnerName.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%s %q is neither a user/group name (letters, digits, _, . and -, starting with a letter or _, at most 32) nor a numeric id", what, s)
}

// idCache remembers the host's user and group ids by name, so that a run
// that writes many files for the same owner asks once.
type idCache struct {
	mu sync.Mutex
	m  map[string]int // "u:name" or "g:name"
}

// resolve turns owner and group (names or numeric ids, "" for none) into
// ids (noUser for none), asking the host in one command for the names it
// does not know yet.
func (c *idCache) resolve(ctx context.Context, run runFunc, owner, group string) (uid, gid int, err error) {
	if err := CheckOwnerName("owner", owner); err != nil {
		return noUser, noUser, err
	}
	if err := CheckOwnerName("group", group); err != nil {
		return noUser, noUser, err
	}
	want := []struct {
		kind, name string
		out        *int
	}{{"u", owner, &uid}, {"g", group, &gid}}
	uid, gid = noUser, noUser
	var ask []string
	c.mu.Lock()
	for _, w := range want {
		if w.name == "" {
			continue
		}
		if n, err := strconv.Atoi(w.name); err == nil {
			*w.out = n
		} else if n, ok := c.m[w.kind+":"+w.name]; ok {
			*w.out = n
		} else {
			ask = append(ask, w.kind+" "+w.name)
		}
	}
	c.mu.Unlock()
	if len(ask) == 0 {
		return uid, gid, nil
	}
	// Names are checked above: no quoting is needed, but it costs nothing.
	var script strings.Builder
	for _, a := range ask {
		kind, name, _ := strings.Cut(a, " ")
		db := map[string]string{"u": "passwd", "g": "group"}[kind]
		fmt.Fprintf(&script, "e=$(getent %s %s) && printf '%s %%s\\n' \"$e\"\n", db, Quote(name), kind)
	}
	res, err := run(ctx, script.String())
	if err != nil {
		return noUser, noUser, err
	}
	found := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	for sc.Scan() {
		kind, entry, _ := strings.Cut(sc.Text(), " ")
		f := strings.Split(entry, ":")
		if len(f) < 3 {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil {
			found[kind+":"+f[0]] = n
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	for _, w := range want {
		if w.name == "" || *w.out != noUser {
			continue
		}
		n, ok := found[w.kind+":"+w.name]
		if !ok {
			what := map[string]string{"u": "user", "g": "group"}[w.kind]
			return noUser, noUser, fmt.Errorf("the host has no %s %q", what, w.name)
		}
		c.m[w.kind+":"+w.name] = n
		*w.out = n
	}
	return uid, gid, nil
}
