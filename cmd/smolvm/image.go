package main

import (
	"github.com/spf13/cobra"
)

func (a *app) newImageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build, list and remove guest images",
		Long: `image manages smolvm's guest images: a stock Debian kernel (fetched with
apt-get download), an initrd with the virtio modules and smolvm's agent, and
an ext4 root filesystem with busybox, built without Docker or root mounts and
cached by a fingerprint of every input.`,
	}
	var cacheDir string
	cmd.PersistentFlags().StringVar(&cacheDir, "cache-dir", "", "image cache (default $SMOLVM_CACHE_DIR, else the XDG cache dir)")
	cmd.AddCommand(a.newImageBuildCommand(&cacheDir), a.newImageLsCommand(&cacheDir), a.newImageRmCommand(&cacheDir),
		a.newImagePruneCommand(&cacheDir))
	return cmd
}
