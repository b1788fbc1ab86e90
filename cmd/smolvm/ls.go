package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list", "ps"},
		Short:   "List VMs",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return a.runLs(c.Context()) },
	}
}

func (a *app) runLs(ctx context.Context) error {
	infos, err := smolvm.List(ctx, a.options()...)
	if err != nil {
		return err
	}
	if a.json {
		if infos == nil {
			infos = []smolvm.Info{}
		}
		writeJSON(a.stdout, infos)
		return nil
	}
	rows := make([][]string, 0, len(infos))
	for _, in := range infos {
		pid := ""
		if in.PID != 0 {
			pid = strconv.Itoa(in.PID)
		}
		rows = append(rows, []string{in.ID, string(in.State), in.Backend, in.Accel, strconv.Itoa(in.VCPUs),
			strconv.Itoa(in.MemoryMiB), in.SSHAddr, pid, in.CreatedAt.Local().Format("2006-01-02 15:04:05")})
	}
	table(a.stdout, []string{"ID", "STATE", "BACKEND", "ACCEL", "CPUS", "MEMORY", "SSH", "PID", "CREATED"}, rows)
	return nil
}
