// Command bench is smolvm's benchmark harness (`make bench`): cold start
// against a bare kernel boot, warm command latency against OpenSSH, env
// operations, concurrency and memory density. Every comparison is a ratio
// of two things measured alternately in the same run, so drift on a shared
// machine cancels out. It prints a Markdown table and writes JSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/internal/paths"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// allGroups are the benchmark groups in the order they run.
var allGroups = []string{"cold", "latency", "env", "throughput", "density"}

type group func(ctx context.Context, env *benchEnv, r *Report) error

var groups = map[string]group{
	"cold": coldGroup, "latency": latencyGroup, "env": envGroup,
	"throughput": throughputGroup, "density": densityGroup,
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench/results.json", "write the JSON report here (empty: don't)")
	md := fs.String("md", "", "also write the Markdown report to this file")
	quick := fs.Bool("quick", false, "fewer repetitions (a smoke run, minutes instead of tens of minutes)")
	sel := fs.String("groups", strings.Join(allGroups, ","), "comma-separated groups to run: "+strings.Join(allGroups, ", "))
	bin := fs.String("bin", "bin/smolvm", "the smolvm binary cold starts run (`make build` makes it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	chosen, err := parseGroups(*sel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, err := newBenchEnv(*bin, *quick, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	r := &Report{Machine: DetectMachine(ctx, time.Now()), Quick: *quick, Groups: chosen}
	for _, g := range chosen {
		env.progress("group %s", g)
		start := time.Now()
		if err := groups[g](ctx, env, r); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", g, err))
			env.progress("group %s failed: %v", g, err)
			if ctx.Err() != nil {
				break
			}
		}
		env.progress("group %s done in %s", g, time.Since(start).Round(time.Second))
	}
	if env.guestKernel != "" {
		r.Machine.GuestKernel = env.guestKernel
	}
	if err := r.WriteMarkdown(stdout); err != nil {
		return err
	}
	if *md != "" {
		if err := writeFile(*md, r.WriteMarkdown); err != nil {
			return err
		}
	}
	if *out != "" {
		if err := writeFile(*out, r.WriteJSON); err != nil {
			return err
		}
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("%d group(s) failed", len(r.Errors))
	}
	return nil
}

// parseGroups validates a -groups value and returns the groups in run order.
func parseGroups(s string) ([]string, error) {
	var out []string
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if _, ok := groups[g]; !ok {
			return nil, fmt.Errorf("-groups: unknown group %q (have %s)", g, strings.Join(allGroups, ", "))
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-groups: no group selected")
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(allGroups, a) - slices.Index(allGroups, b) })
	return out, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// benchEnv is what the groups share: paths, the repetition scale and one
// lazily booted VM for the warm groups.
type benchEnv struct {
	quick       bool
	bin         string // absolute path of bin/smolvm
	root        string // repository root
	scratch     string // temporary directory, removed at the end
	dirs        paths.Dirs
	stderr      io.Writer
	vm          *smolvm.VM
	guestKernel string
}

func newBenchEnv(bin string, quick bool, stderr io.Writer) (*benchEnv, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "bareinit")); err != nil {
		return nil, fmt.Errorf("run from the repository root (make bench): %w", err)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("smolvm binary: %w (run make build)", err)
	}
	dirs, err := paths.Default()
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "smolvm-bench-")
	if err != nil {
		return nil, err
	}
	return &benchEnv{quick: quick, bin: abs, root: root, scratch: scratch, dirs: dirs, stderr: stderr}, nil
}

// reps returns the repetition count for the current mode.
func (e *benchEnv) reps(quick, full int) int {
	if e.quick {
		return quick
	}
	return full
}

func (e *benchEnv) progress(format string, args ...any) {
	fmt.Fprintf(e.stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// vmOptions are the library options every harness VM uses: a private data
// dir (its own state and key), the user's image cache.
func (e *benchEnv) vmOptions() []smolvm.Option {
	return []smolvm.Option{
		smolvm.WithDataDir(filepath.Join(e.scratch, "data")),
		smolvm.WithCacheDir(e.dirs.Cache),
		smolvm.WithBootTimeout(5 * time.Minute),
	}
}

// sharedVM boots (once) the default VM the warm groups measure.
func (e *benchEnv) sharedVM(ctx context.Context) (*smolvm.VM, error) {
	if e.vm != nil {
		return e.vm, nil
	}
	e.progress("booting the shared VM")
	vm, err := smolvm.New(ctx, smolvm.Config{ID: "bench-shared"}, e.vmOptions()...)
	if err != nil {
		return nil, err
	}
	e.vm = vm
	if res, err := vm.Run(ctx, "uname -r", smolvm.Raw()); err == nil && res.OK() {
		e.guestKernel = res.Output()
	}
	return vm, nil
}

func (e *benchEnv) close() {
	if e.vm != nil {
		if err := e.vm.Close(); err != nil {
			e.progress("closing the shared VM: %v", err)
		}
	}
	_ = os.RemoveAll(e.scratch)
}
