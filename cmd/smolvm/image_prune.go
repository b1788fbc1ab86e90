package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm/image"
)

func (a *app) newImagePruneCommand(cacheDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove cached images that are neither the current default nor used by a VM",
		Long: `prune finds the current default image (building it if needed, which is a
cache hit normally) and removes every other cached image that no VM uses.
Images go stale when the kernel package, busybox or the agent change. Only
VMs of this data dir (--data-dir, SMOLVM_DATA_DIR) are seen.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var opts []image.Option
			if *cacheDir != "" {
				opts = append(opts, image.WithCacheDir(*cacheDir))
			}
			current, err := image.NewBuilder(opts...).Build(c.Context())
			if err != nil {
				return err
			}
			users, err := a.imageUsers(c.Context(), *cacheDir)
			if err != nil {
				return err
			}
			imgs, err := image.List(*cacheDir)
			if err != nil {
				return err
			}
			var errs []error
			var removed []string
			for _, img := range imgs {
				if img.Name == current.Name || len(users[img.Name]) > 0 {
					continue
				}
				if err := image.Remove(*cacheDir, img.Name); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, img.Name)
				if !a.json {
					fmt.Fprintln(a.stdout, img.Name)
				}
			}
			return a.removedResult(removed, errs)
		},
	}
}
