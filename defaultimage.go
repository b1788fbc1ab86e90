package smolvm

import (
	"context"
	"fmt"

	"github.com/smolvm/smolvm/image"
	"github.com/smolvm/smolvm/internal/paths"
)

type imagePaths struct{ kernel, initrd, rootfs string }

// defaultImage returns smolvm's default image, building it on first use
// (cached by fingerprint afterwards).
func defaultImage(ctx context.Context, dirs paths.Dirs, o options) (imagePaths, error) {
	b := image.NewBuilder(
		image.WithCacheDir(dirs.Cache),
		image.WithLogger(o.logger),
		image.WithProgress(func(e image.Event) {
			o.progress(Progress{Step: string(e.Step), Detail: e.Detail, Bytes: e.Bytes, Done: e.Step == image.StepDone})
		}),
	)
	img, err := b.Build(ctx)
	if err != nil {
		return imagePaths{}, fmt.Errorf("default image: %w", err)
	}
	return imagePaths{kernel: img.Kernel, initrd: img.Initrd, rootfs: img.Rootfs}, nil
}
