package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm/image"
)

func (a *app) newImageRmCommand(cacheDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove cached images",
		Args:  minArgs(1, "NAME..."),
		RunE: func(_ *cobra.Command, names []string) error {
			var errs []error
			var removed []string
			for _, n := range names {
				if err := image.Remove(*cacheDir, n); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, n)
				if !a.json {
					fmt.Fprintln(a.stdout, n)
				}
			}
			return a.removedResult(removed, errs)
		},
	}
}
