package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/image"
)

func (a *app) newImageRmCommand(cacheDir *string) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove cached images (refused while a VM's disk uses one, unless -f)",
		Long: `rm removes cached images. A VM's copy-on-write disk reads its image's root
filesystem, so removing an image in use would break that VM: rm refuses
unless -f is given. Only VMs of this data dir (--data-dir, SMOLVM_DATA_DIR)
are seen.`,
		Args: minArgs(1, "NAME..."),
		RunE: func(c *cobra.Command, names []string) error {
			users, err := a.imageUsers(c.Context(), *cacheDir)
			if err != nil {
				return err
			}
			var errs []error
			var removed []string
			for _, n := range names {
				if vms := users[n]; len(vms) > 0 && !force {
					errs = append(errs, fmt.Errorf("image %s is used by VM(s) %s (delete them first, or use -f): %w",
						n, strings.Join(vms, ", "), smolvm.ErrInvalidState))
					continue
				}
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
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove images even when VMs use them (those VMs stop working)")
	return cmd
}

// imageUsers maps image names to the IDs of the VMs whose root filesystem
// lives in that image's directory.
func (a *app) imageUsers(ctx context.Context, cacheDir string) (map[string][]string, error) {
	imgs, err := image.List(cacheDir)
	if err != nil {
		return nil, err
	}
	vms, err := smolvm.List(ctx, a.options()...)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, img := range imgs {
		for _, vm := range vms {
			if filepath.Dir(vm.RootfsPath) == img.Dir {
				users[img.Name] = append(users[img.Name], vm.ID)
			}
		}
	}
	return users, nil
}
