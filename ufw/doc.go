// Package ufw models ufw 0.36 (the version Debian bookworm ships) well
// enough to change a host's firewall without ever cutting the SSH
// connection the change travels over.
//
// hako drives ufw through its command line, over SSH, often over the very
// connection a rule could block. ufw's commands do not always do what they
// seem to say: adding a rule replaces every rule with the same key, `ufw
// delete` without a comment also deletes the rules that differ only by
// their comment, `ufw insert N` counts an application rule's lines once,
// and each address family keeps its own list in its own order. So hako
// works the change out in full before it runs anything: the commands, and
// what each one leaves in each list, as ufw's own code would.
//
// Everything here is a pure function of data; nothing touches a host:
//
//   - parse.go reads the "### tuple ###" lines of /etc/ufw/user.rules and
//     user6.rules into rules, and renders a rule as ufw's command.
//   - status.go reads ufw's state as ufw does, without running it: its
//     settings files, its rules, and what the kernel holds (Kernel), into
//     a Host; StatusVerbose prints that as `ufw status verbose` would.
//   - goal.go is the firewall a plan declares (Goal, PlanRule), with the
//     normalisation ufw applies to ports and addresses.
//   - backend.go is what ufw's backend does with one add, insert or delete
//     on one list (a port of set_rule in backend_iptables.py).
//   - sim.go plays a sequence of commands on the lists; converge.go picks
//     the commands (Converge) and the order that keeps SSH open on the way.
//   - lockout.go tells whether the final firewall would accept a new SSH
//     connection from hako (Convergence.Lockout).
//   - migrate.go adds the temporary rule that keeps the SSH port in use
//     open while SSH moves to another port.
//   - final.go compares the predicted final rules with the rules ufw holds
//     after the commands ran (CompareFinal).
//
// The tests replay hako's commands on a second port of ufw's rule code,
// written from ufw's Python source separately from backend.go, over
// thousands of host and plan combinations, and parse files captured from
// a real ufw (testdata/). The task adapter (the ufw kind in package tasks)
// decodes the plan, probes the host and runs the commands.
package ufw
