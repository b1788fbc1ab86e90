package main

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestAlternateOrder(t *testing.T) {
	var order []string
	arm := func(name string, d time.Duration) Arm {
		return Arm{Name: name, Run: func(context.Context) (time.Duration, error) {
			order = append(order, name)
			return d, nil
		}}
	}
	got, err := Alternate(context.Background(), 3, arm("a", 1), arm("b", 2), arm("c", 3))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c", "a", "b", "c", "a", "b", "c"}
	if !slices.Equal(order, want) {
		t.Errorf("run order %v, want %v", order, want)
	}
	for name, d := range map[string]time.Duration{"a": 1, "b": 2, "c": 3} {
		if s := got[name]; !slices.Equal(s.Times, []time.Duration{d, d, d}) || s.Failures != 0 {
			t.Errorf("arm %s: %+v", name, s)
		}
	}
}

func TestAlternateFailures(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	flaky := Arm{Name: "flaky", Run: func(context.Context) (time.Duration, error) {
		n++
		if n%2 == 0 {
			return time.Second, boom
		}
		return time.Millisecond, nil
	}}
	got, err := Alternate(context.Background(), 4, flaky)
	if err != nil {
		t.Fatal(err)
	}
	s := got["flaky"]
	if s.Failures != 2 || len(s.Times) != 2 || !errors.Is(s.FirstErr, boom) {
		t.Errorf("got %+v, want 2 failures (boom) and 2 times", s)
	}
	if slices.Contains(s.Times, time.Second) {
		t.Errorf("a failed repetition's time was kept: %v", s.Times)
	}
}

func TestAlternateStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	a := Arm{Name: "a", Run: func(context.Context) (time.Duration, error) {
		calls++
		if calls == 3 {
			cancel()
		}
		return time.Millisecond, nil
	}}
	got, err := Alternate(ctx, 100, a)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls != 3 || len(got["a"].Times) != 3 {
		t.Errorf("calls = %d, times = %v, want 3 of each", calls, got["a"].Times)
	}
}

func TestAlternateRefusesDuplicateNames(t *testing.T) {
	a := Arm{Name: "x", Run: Timed(func(context.Context) error { return nil })}
	if _, err := Alternate(context.Background(), 1, a, a); err == nil {
		t.Error("two arms named x accepted")
	}
}

func TestTimedMeasuresTheCall(t *testing.T) {
	d, err := Timed(func(context.Context) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})(context.Background())
	if err != nil || d < 5*time.Millisecond {
		t.Errorf("Timed = %v, %v; want at least the 5ms slept", d, err)
	}
}
