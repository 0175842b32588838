// Command hako applies an HCL plan to Linux hosts over SSH.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: hako <command> [options] DIR

Commands:
  validate   check the plan in DIR without contacting any host
  plan       show what apply would change; changes nothing
  apply      change the hosts to match the plan
  facts      show what each host of the plan says of itself (host.facts)
  sdcard     prepare a freshly flashed Raspberry Pi card: hako sdcard BOOT_DIR PLAN_DIR

Run "hako <command> -h" for the options of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"validate": cmdValidate, "plan": cmdPlan, "apply": cmdApply, "facts": cmdFacts,
		"sdcard": cmdSdcard,
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hako: unknown command %q\n\n%s", args[0], usage)
	return 1
}
