package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm/image"
)

type imageBuildOpts struct {
	kernelDeb string
	kernel    string
	modules   string
	agent     string
	rootfsMiB int
}

func (a *app) newImageBuildCommand(cacheDir *string) *cobra.Command {
	var o imageBuildOpts
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build (or find in the cache) the guest image and print its paths",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return a.runImageBuild(c.Context(), *cacheDir, o) },
	}
	cmd.Flags().StringVar(&o.kernelDeb, "kernel-deb", "", "use this kernel .deb instead of Debian's linux-image-cloud-amd64")
	cmd.Flags().StringVar(&o.kernel, "kernel", "", "use this kernel file (with --modules)")
	cmd.Flags().StringVar(&o.modules, "modules", "", "modules directory (lib/modules/<version>) for --kernel")
	cmd.Flags().StringVar(&o.agent, "agent", "", "guest agent binary (default: smolvm-agent next to smolvm, else built from source)")
	cmd.Flags().IntVar(&o.rootfsMiB, "rootfs-size", image.DefaultRootfsMiB, "root filesystem size in MiB (sparse)")
	return cmd
}

func (a *app) runImageBuild(ctx context.Context, cacheDir string, o imageBuildOpts) error {
	opts := []image.Option{image.WithRootfsMiB(o.rootfsMiB)}
	if cacheDir != "" {
		opts = append(opts, image.WithCacheDir(cacheDir))
	}
	if o.kernelDeb != "" {
		opts = append(opts, image.WithKernelDeb(o.kernelDeb))
	}
	if o.kernel != "" {
		opts = append(opts, image.WithKernel(o.kernel, o.modules))
	}
	if o.agent != "" {
		opts = append(opts, image.WithAgent(o.agent))
	}
	opts = append(opts, image.WithLogger(a.logger()))
	if !a.json {
		p := newProgress(a.stderr)
		opts = append(opts, image.WithProgress(func(e image.Event) {
			detail := e.Detail
			if e.Cached {
				detail += " (cached)"
			}
			p.report(progressOf(string(e.Step), detail, e.Bytes))
		}))
	}
	img, err := image.NewBuilder(opts...).Build(ctx)
	if err != nil {
		return err
	}
	if a.json {
		writeJSON(a.stdout, imageJSON(img))
		return nil
	}
	fmt.Fprintf(a.stdout, "image   %s\nkernel  %s\ninitrd  %s\nrootfs  %s\n", img.Name, img.Kernel, img.Initrd, img.Rootfs)
	return nil
}

type imageOut struct {
	image.Image
	Dir    string `json:"dir"`
	Kernel string `json:"kernel"`
	Initrd string `json:"initrd"`
	Rootfs string `json:"rootfs"`
	// UsedBy lists the VMs whose disks use the image (image ls only).
	UsedBy []string `json:"used_by,omitempty"`
}

func imageJSON(img image.Image) imageOut {
	return imageOut{Image: img, Dir: img.Dir, Kernel: img.Kernel, Initrd: img.Initrd, Rootfs: img.Rootfs}
}
