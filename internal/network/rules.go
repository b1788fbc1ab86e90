package network

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Chain names in smolvm's table.
const (
	ChainForward     = "forward"
	ChainPostrouting = "postrouting"
)

func (m *Manager) tableRef() *nftables.Table {
	return &nftables.Table{Name: m.table, Family: nftables.TableFamilyINet}
}

// ensureTable adds (idempotently) the table and its two base chains.
func (m *Manager) ensureTable(c *nftables.Conn) (fwd, post *nftables.Chain) {
	t := c.AddTable(m.tableRef())
	accept := nftables.ChainPolicyAccept
	fwd = c.AddChain(&nftables.Chain{Name: ChainForward, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	post = c.AddChain(&nftables.Chain{Name: ChainPostrouting, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	return fwd, post
}

// ifname pads an interface name as the kernel compares it (IFNAMSIZ).
func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

func matchIf(key expr.MetaKey, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// vmRules are one VM's rules, in order, for the forward and postrouting
// chains.
func vmRules(v VM) (forward, post [][]expr.Any) {
	tap := TAPName(v.ID)
	established := []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
	guest := v.Guest.As4()
	forward = [][]expr.Any{
		// VM to any VM: dropped (prefix match on every smolvm TAP).
		cat(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, ifname(tap)),
			matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, []byte(TAPPrefix)),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}),
		// VM to the outside: allowed.
		cat(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, ifname(tap)),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}),
		// Replies to the VM: allowed; anything else towards it: dropped.
		cat(matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, ifname(tap)), established,
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}),
		cat(matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, ifname(tap)),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}),
	}
	post = [][]expr.Any{
		// ip saddr <guest> oifname != <tap> masquerade
		cat([]expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: guest[:]},
		}, matchIf(expr.MetaKeyOIFNAME, expr.CmpOpNeq, ifname(tap)),
			[]expr.Any{&expr.Counter{}, &expr.Masq{}}),
	}
	return forward, post
}

// addRules replaces the VM's rules (deleting any it had) in one batch.
func (m *Manager) addRules(v VM) error {
	if err := m.delRules(v.ID); err != nil {
		return err
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	fwdChain, postChain := m.ensureTable(c)
	ud := userdata.AppendString(nil, userdata.TypeComment, tag(v.ID))
	fwd, post := vmRules(v)
	for _, e := range fwd {
		c.AddRule(&nftables.Rule{Table: fwdChain.Table, Chain: fwdChain, Exprs: e, UserData: ud})
	}
	for _, e := range post {
		c.AddRule(&nftables.Rule{Table: postChain.Table, Chain: postChain, Exprs: e, UserData: ud})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables rules for %s: %w", v.ID, err)
	}
	return nil
}

// taggedRules returns the rules of smolvm's table grouped by VM id, and
// whether the table exists.
func (m *Manager) taggedRules(c *nftables.Conn) (map[string][]*nftables.Rule, bool, error) {
	t, err := c.ListTableOfFamily(m.table, nftables.TableFamilyINet)
	if err != nil {
		return nil, false, nil //nolint:nilerr // no table: nothing tagged
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, true, err
	}
	out := map[string][]*nftables.Rule{}
	for _, ch := range chains {
		if ch.Table.Name != t.Name {
			continue
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return nil, true, err
		}
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if id, ok := vmOfTag(s); ok {
				out[id] = append(out[id], r)
			} else {
				out[""] = append(out[""], r)
			}
		}
	}
	return out, true, nil
}

// delRules deletes the VM's tagged rules, and the table once it holds no
// rule at all (so the ruleset is as it was before smolvm's first VM).
func (m *Manager) delRules(vmID string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	byVM, exists, err := m.taggedRules(c)
	if err != nil || !exists {
		return err
	}
	for _, r := range byVM[vmID] {
		if err := c.DelRule(r); err != nil {
			return err
		}
	}
	remaining := 0
	for id, rs := range byVM {
		if id != vmID {
			remaining += len(rs)
		}
	}
	if remaining == 0 {
		c.DelTable(m.tableRef())
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables delete rules of %s: %w", vmID, err)
	}
	return nil
}
