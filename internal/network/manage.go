package network

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/nftables"
)

// Setup gives the VM its TAP device (named TAPName(v.ID)) with the host
// address, and its nftables rules. It is idempotent; on error what it made
// is removed. It returns the TAP name for hypervisor.Spec.TAP.
func (m *Manager) Setup(ctx context.Context, v VM) (string, error) {
	if err := v.validate(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	name := TAPName(v.ID)
	if _, err := m.addLink(v); err != nil {
		_ = delLink(name)
		return "", fmt.Errorf("network setup %s: %w", v.ID, err)
	}
	if err := m.addRules(v); err != nil {
		_ = m.delRules(v.ID)
		_ = delLink(name)
		return "", fmt.Errorf("network setup %s: %w", v.ID, err)
	}
	m.log.Info("network up", "vm", v.ID, "tap", name, "host", v.Host, "guest", v.Guest)
	return name, nil
}

// Delete removes exactly the VM's rules and TAP device (and smolvm's
// table once it is empty). Deleting what is already gone returns nil.
func (m *Manager) Delete(ctx context.Context, vmID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := errors.Join(m.delRules(vmID), delLink(TAPName(vmID)))
	if err != nil {
		return fmt.Errorf("network delete %s: %w", vmID, err)
	}
	m.log.Info("network down", "vm", vmID)
	return nil
}

// Reconcile removes the rules and TAP devices of every VM not in known
// (left over by a crash) and returns the VM ids (for rules) and device
// names it removed.
func (m *Manager) Reconcile(ctx context.Context, known []string) ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	byVM, _, err := m.taggedRules(c)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	var removed []string
	var errs []error
	for id := range byVM {
		if id == "" || slices.Contains(known, id) {
			continue
		}
		if err := m.Delete(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	keep := map[string]bool{}
	for _, id := range known {
		keep[TAPName(id)] = true
	}
	taps, err := ourTAPs()
	if err != nil {
		errs = append(errs, err)
	}
	for _, t := range taps {
		if keep[t] {
			continue
		}
		if err := delLink(t); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, t)
	}
	slices.Sort(removed)
	return removed, errors.Join(errs...)
}
