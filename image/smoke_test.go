package image

import (
	"context"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	_, k, md := debianKernel(t)
	cache := t.TempDir()
	var events []Event
	b := NewBuilder(WithCacheDir(cache), WithKernel(k, md), WithAgent(staticBinary(t)), WithProgress(func(e Event) { events = append(events, e) }))
	st := time.Now()
	img, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %v", img, time.Since(st))
	for _, e := range events {
		t.Logf("%+v", e)
	}
	st = time.Now()
	img, err = b.Build(context.Background())
	t.Logf("%+v %v %v", img.Name, err, time.Since(st))
}
