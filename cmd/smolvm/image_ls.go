package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm/image"
)

func (a *app) newImageLsCommand(cacheDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List cached images",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			imgs, err := image.List(*cacheDir)
			if err != nil {
				return err
			}
			users, err := a.imageUsers(c.Context(), *cacheDir)
			if err != nil {
				return err
			}
			if a.json {
				out := make([]imageOut, 0, len(imgs))
				for _, img := range imgs {
					o := imageJSON(img)
					o.UsedBy = nonNil(users[img.Name])
					out = append(out, o)
				}
				writeJSON(a.stdout, out)
				return nil
			}
			rows := make([][]string, 0, len(imgs))
			for _, img := range imgs {
				rows = append(rows, []string{img.Name, humanBytes(img.Size), img.Fingerprint[:min(12, len(img.Fingerprint))],
					img.KernelVersion, img.Created.Local().Format("2006-01-02 15:04"), strings.Join(users[img.Name], ",")})
			}
			table(a.stdout, []string{"NAME", "SIZE", "FINGERPRINT", "KERNEL", "CREATED", "USED BY"}, rows)
			return nil
		},
	}
}
