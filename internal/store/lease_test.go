package store

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
)

func TestLeasePort(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "a")
	mustCreate(t, s, "b")
	var pa []int
	for range 3 {
		p, err := s.LeasePort(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		pa = append(pa, p)
		// The port was free on 127.0.0.1 when leased.
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("leased port %d cannot be bound: %v", p, err)
		}
		_ = l.Close()
	}
	pb, err := s.LeasePort(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pa)
	if got, _ := s.Ports(ctx, "a"); !slices.Equal(got, pa) {
		t.Fatalf("Ports(a) = %v, want %v", got, pa)
	}
	if err := s.ReleasePorts(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Ports(ctx, "a"); len(got) != 0 {
		t.Fatalf("Ports(a) after release = %v", got)
	}
	if got, _ := s.Ports(ctx, "b"); !slices.Equal(got, []int{pb}) {
		t.Fatalf("Ports(b) = %v, want [%d]", got, pb)
	}
	if err := s.ReleasePorts(ctx, "a"); err != nil {
		t.Fatalf("releasing nothing: %v", err)
	}
}

// TestLeasePortSkipsLeased makes the kernel's offer a port already leased:
// LeasePort must skip it and take the next offer.
func TestLeasePortSkipsLeased(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "a")
	mustCreate(t, s, "b")
	offers := []int{40001, 40001, 40001, 40002}
	s.freePort = func(context.Context) (int, error) {
		p := offers[0]
		offers = offers[1:]
		return p, nil
	}
	if p, err := s.LeasePort(ctx, "a"); err != nil || p != 40001 {
		t.Fatalf("first lease = %d, %v", p, err)
	}
	if p, err := s.LeasePort(ctx, "b"); err != nil || p != 40002 {
		t.Fatalf("second lease = %d, %v; want 40002", p, err)
	}
	if len(offers) != 0 {
		t.Fatalf("%d offers unused", len(offers))
	}

	s.freePort = func(context.Context) (int, error) { return 40001, nil }
	if _, err := s.LeasePort(ctx, "b"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("lease with only leased offers: %v, want ErrExhausted", err)
	}
}

func TestLeaseIP(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		mustCreate(t, s, id)
	}
	a, err := s.LeaseIP(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.LeaseIP(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if a != leaseOf(0) || b != leaseOf(1) {
		t.Fatalf("leases %+v %+v, want slots 0 and 1", a, b)
	}
	if again, err := s.LeaseIP(ctx, "a"); err != nil || again != a {
		t.Fatalf("second LeaseIP(a) = %+v, %v; want the same lease", again, err)
	}
	if got, err := s.IP(ctx, "b"); err != nil || got != b {
		t.Fatalf("IP(b) = %+v, %v", got, err)
	}
	if err := s.ReleaseIP(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IP(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("IP(a) after release: %v", err)
	}
	// The lowest free subnet is reused.
	if c, err := s.LeaseIP(ctx, "c"); err != nil || c != a {
		t.Fatalf("LeaseIP(c) = %+v, %v; want the released %+v", c, err, a)
	}
	if err := s.ReleaseIP(ctx, "a"); err != nil {
		t.Fatalf("releasing nothing: %v", err)
	}
}

func TestLeaseIPExhausted(t *testing.T) {
	old := IPPool
	IPPool = netip.MustParsePrefix("10.9.0.0/28") // four /30s
	defer func() { IPPool = old }()
	s := openTemp(t)
	ctx := t.Context()
	var subnets []string
	for i := range 5 {
		id := "vm" + strconv.Itoa(i)
		mustCreate(t, s, id)
		l, err := s.LeaseIP(ctx, id)
		if i == 4 {
			if !errors.Is(err, ErrExhausted) {
				t.Fatalf("fifth lease: %+v, %v; want ErrExhausted", l, err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, l.Subnet.String())
	}
	want := []string{"10.9.0.0/30", "10.9.0.4/30", "10.9.0.8/30", "10.9.0.12/30"}
	if !slices.Equal(subnets, want) {
		t.Fatalf("subnets %v, want %v", subnets, want)
	}
}

func TestLeaseOf(t *testing.T) {
	for _, tc := range []struct {
		name                string
		slot                int
		subnet, host, guest string
	}{
		{"first", 0, "172.30.0.0/30", "172.30.0.1", "172.30.0.2"},
		{"second", 1, "172.30.0.4/30", "172.30.0.5", "172.30.0.6"},
		{"crosses an octet", 64, "172.30.1.0/30", "172.30.1.1", "172.30.1.2"},
		{"last", 16383, "172.30.255.252/30", "172.30.255.253", "172.30.255.254"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := leaseOf(tc.slot)
			if l.Subnet.String() != tc.subnet || l.Host.String() != tc.host ||
				l.Guest.String() != tc.guest || l.PrefixLen != 30 {
				t.Fatalf("leaseOf(%d) = %+v", tc.slot, l)
			}
		})
	}
	if ipSlots() != 16384 {
		t.Fatalf("ipSlots() = %d, want 16384", ipSlots())
	}
}

func TestDeleteReleasesLeases(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustCreate(t, s, "gone")
	mustCreate(t, s, "kept")
	for _, id := range []string{"gone", "kept"} {
		for range 2 {
			if _, err := s.LeasePort(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.LeaseIP(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"port_leases": 2, "ip_leases": 1} {
		var n, other int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE vm_id != 'kept') FROM `+table).
			Scan(&n, &other); err != nil {
			t.Fatal(err)
		}
		if n != want || other != 0 {
			t.Errorf("%s: %d rows (%d not of kept), want %d of kept", table, n, other, want)
		}
	}
	if ports, _ := s.Ports(ctx, "gone"); len(ports) != 0 {
		t.Fatalf("ports of a deleted VM: %v", ports)
	}
}
