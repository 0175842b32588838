package preflight

import (
	"fmt"
	"strings"
)

// sshd-include: the sshd configuration the plan leaves includes a file
// from within itself (directly or through other files), or nests Includes
// deeper than sshd's limit. sshd then stops with "Too many recursive
// configuration includes" and does not start: after its restart nobody
// could log in. A refusal when a file task writes one of the files on
// the way; a warning when the host's own files do it (the plan did not
// cause it, but the next restart of sshd fails all the same). A fan of
// Includes too wide to read is a warning: the other checks then judged
// only the files read.
func sshdInclude(e *env) (refusals, warnings []Finding) {
	_, _, p := e.sshdRead()
	if p == nil {
		return nil, nil
	}
	var names []string
	for _, f := range p.chain {
		names = append(names, f.path)
	}
	way := strings.Join(names, " includes ")
	last := p.chain[len(p.chain)-1].path
	if p.tooMany {
		return nil, []Finding{{Check: CheckSSHDInclude, Message: fmt.Sprintf(
			"sshd's configuration reads more than %d files through Include (the last: %s): hako stopped reading there, and its checks of sshd's configuration judged only those files",
			sshdMaxReads, way)}}
	}
	what := fmt.Sprintf("Includes nest deeper than %d files, sshd's limit (%s)", sshdMaxDepth, way)
	if p.loop {
		what = fmt.Sprintf("%s is included again from within itself (%s)", last, way)
	}
	msg := what + `: sshd stops with "Too many recursive configuration includes" and would not start again. Make the Include patterns match only files that include nothing back (e.g. Include /etc/ssh/sshd_config.d/*.conf only from sshd_config)`
	if by, ok := firstPlanned(p.chain); ok {
		return []Finding{{Check: CheckSSHDInclude, Task: by.task, Message: fmt.Sprintf("%s writes %s; %s", by.task, by.path, msg)}}, nil
	}
	return nil, []Finding{{Check: CheckSSHDInclude, Message: "the host's own sshd configuration: " + msg}}
}
