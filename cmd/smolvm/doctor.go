package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newDoctorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the host: hypervisors, KVM or TCG and why, image tools, data dir",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return a.runDoctor(c.Context()) },
	}
}

func (a *app) runDoctor(ctx context.Context) error {
	checks := smolvm.Doctor(ctx, a.options()...)
	failed := 0
	for _, c := range checks {
		if !c.OK && !c.Optional {
			failed++
		}
	}
	if a.json {
		writeJSON(a.stdout, map[string]any{"ok": failed == 0, "checks": checks})
	} else {
		for _, c := range checks {
			mark := "ok  "
			switch {
			case !c.OK && c.Optional:
				mark = "--  "
			case !c.OK:
				mark = "FAIL"
			}
			fmt.Fprintf(a.stdout, "[%s] %-22s %s\n", mark, c.Name, c.Detail)
			if !c.OK && c.Fix != "" {
				fmt.Fprintf(a.stdout, "       %-22s fix: %s\n", "", c.Fix)
			}
		}
	}
	if failed > 0 {
		if a.json {
			return exitCode(1)
		}
		return errors.New(fmt.Sprint(failed, " required check(s) failed"))
	}
	return nil
}
