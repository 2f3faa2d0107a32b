// cilium-judge answers "would Cilium's own policy engine allow this connection side?" for the
// differential test of Rampart's evaluator (core/policy). It links the policy repository of the
// pinned Cilium module (the same version test/support/hubble-cli builds the hubble CLI from) and
// runs as one long-lived process: one JSON request per stdin line, one JSON answer per stdout line.
//
// A request holds a policy set (NetworkPolicy, CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy objects as the API server stores them), the endpoints of a
// cluster given by their identity labels, and connection cases between them. Each request gets a
// fresh repository, so answers never depend on earlier requests.
//
// Policies go through the agent's own translation: k8s.ParseNetworkPolicy for NetworkPolicies,
// CiliumNetworkPolicy.Parse / CiliumClusterwideNetworkPolicy.Parse + RulesToPolicyEntries for
// CNP/CCNP, with the local cluster name as the agent's default policy-default-local-cluster=true
// gives it. A side's verdict is the distilled endpoint policy's map-state lookup, the way the
// datapath looks it up (policy.EndpointPolicy.Lookup).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/cilium/cilium/pkg/crypto/certificatemanager"
	"github.com/cilium/cilium/pkg/endpoint/regeneration"
	envoypolicy "github.com/cilium/cilium/pkg/envoy/policy"
	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/identity/identitymanager"
	"github.com/cilium/cilium/pkg/k8s"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	slimnetv1 "github.com/cilium/cilium/pkg/k8s/slim/k8s/api/networking/v1"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
	policyutils "github.com/cilium/cilium/pkg/policy/utils"
	"github.com/cilium/cilium/pkg/spanstat"
	testpolicy "github.com/cilium/cilium/pkg/testutils/policy"
	ciliumtypes "github.com/cilium/cilium/pkg/types"
	"github.com/cilium/cilium/pkg/u8proto"
)

// clusterName is the agent's default cluster name; with policy-default-local-cluster=true
// (the default) every peer selector is confined to it.
const clusterName = "default"

type namedPort struct {
	Name     string `json:"name"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

type endpointIn struct {
	// pod: labels are the identity labels (k8s:..., with the namespace ones);
	// external: ip (and optional DNS names); reserved: labels like ["reserved:kube-apiserver"].
	Kind   string      `json:"kind"`
	Labels []string    `json:"labels"`
	IP     string      `json:"ip"`
	Names  []string    `json:"names"`
	Ports  []namedPort `json:"ports"`
}

type caseIn struct {
	Src   int    `json:"src"`
	Dst   int    `json:"dst"`
	Proto string `json:"proto"`
	// Port is the destination port, or the ICMP type for ICMP cases.
	Port int `json:"port"`
}

type request struct {
	ID        int               `json:"id"`
	Policies  []json.RawMessage `json:"policies"`
	Endpoints []endpointIn      `json:"endpoints"`
	Cases     []caseIn          `json:"cases"`
}

type result struct {
	Egress  string `json:"egress"`
	Ingress string `json:"ingress"`
}

type response struct {
	ID      int      `json:"id"`
	Error   string   `json:"error,omitempty"`
	Results []result `json:"results,omitempty"`
}

type stats struct {
	waiting, calc spanstat.SpanStat
}

func (s *stats) WaitingForPolicyRepository() *spanstat.SpanStat { return &s.waiting }
func (s *stats) SelectorPolicyCalculation() *spanstat.SpanStat  { return &s.calc }

// owner stands for the endpoint whose policy is distilled. Named ports resolve the way the
// agent's Endpoint.GetNamedPort does: ingress on the endpoint's own ports, egress on the
// cluster-wide multimap of every pod's ports (ipcache's NamedPortMultiMap).
type owner struct {
	id      uint64
	own     ciliumtypes.NamedPortMap
	cluster ciliumtypes.NamedPortMultiMap
}

func (o *owner) GetID() uint64 { return o.id }
func (o *owner) GetNamedPort(ingress bool, name string, proto u8proto.U8proto) uint16 {
	if ingress {
		p, _ := o.own.GetNamedPort(name, proto)
		return p
	}
	p, _ := o.cluster.GetNamedPort(name, proto)
	return p
}
func (o *owner) PolicyDebug(string, ...any)         {}
func (o *owner) IsHost() bool                       { return false }
func (o *owner) PreviousMapState() *policy.MapState { return nil }
func (o *owner) RegenerateIfAlive(*regeneration.ExternalRegenerationMetadata) <-chan bool {
	ch := make(chan bool)
	close(ch)
	return ch
}

// noCertificates: the judge's policies carry no TLS contexts (they are judged at L4).
type noCertificates struct{}

func (noCertificates) GetTLSContext(context.Context, *api.TLSContext, string) (string, string, string, bool, error) {
	return "", "", "", false, fmt.Errorf("no TLS secrets in the judge")
}

var logger = slog.New(slog.NewTextHandler(io.Discard, nil))

type typeMeta struct {
	Kind string `json:"kind"`
}

func parsePolicies(raw []json.RawMessage) (policytypes.PolicyEntries, error) {
	var entries policytypes.PolicyEntries
	for i, r := range raw {
		var tm typeMeta
		if err := json.Unmarshal(r, &tm); err != nil {
			return nil, fmt.Errorf("policies[%d]: %w", i, err)
		}
		switch tm.Kind {
		case "NetworkPolicy":
			var np slimnetv1.NetworkPolicy
			if err := json.Unmarshal(r, &np); err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			e, err := k8s.ParseNetworkPolicy(logger, clusterName, &np)
			if err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			entries = append(entries, e...)
		case "CiliumNetworkPolicy":
			var cnp ciliumv2.CiliumNetworkPolicy
			if err := json.Unmarshal(r, &cnp); err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			rules, err := cnp.Parse(logger, clusterName)
			if err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			entries = append(entries, policyutils.RulesToPolicyEntries(rules)...)
		case "CiliumClusterwideNetworkPolicy":
			var ccnp ciliumv2.CiliumClusterwideNetworkPolicy
			if err := json.Unmarshal(r, &ccnp); err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			rules, err := ccnp.Parse(logger, clusterName)
			if err != nil {
				return nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			entries = append(entries, policyutils.RulesToPolicyEntries(rules)...)
		default:
			return nil, fmt.Errorf("policies[%d]: unknown kind %q", i, tm.Kind)
		}
	}
	return entries, nil
}

// fqdnSelectors lists every toFQDNs selector of the set: a DNS name's identity carries the
// `fqdn:` label of each selector that matches it, as the agent's name manager derives them.
func fqdnSelectors(entries policytypes.PolicyEntries) []api.FQDNSelector {
	var out []api.FQDNSelector
	for _, e := range entries {
		for _, s := range e.L3 {
			if f, ok := s.GetFQDNSelector(); ok {
				out = append(out, *f)
			}
		}
	}
	return out
}

func identityLabels(ep endpointIn, fqdns []api.FQDNSelector) (labels.LabelArray, error) {
	switch ep.Kind {
	case "pod":
		lbls := labels.NewLabelsFromModel(ep.Labels)
		if _, ok := lbls["io.cilium.k8s.policy.cluster"]; !ok {
			lbls["io.cilium.k8s.policy.cluster"] = labels.NewLabel("io.cilium.k8s.policy.cluster", clusterName, labels.LabelSourceK8s)
		}
		return lbls.LabelArray(), nil
	case "external":
		addr, err := netip.ParseAddr(ep.IP)
		if err != nil {
			return nil, fmt.Errorf("bad ip %q: %w", ep.IP, err)
		}
		lbls := labels.GetCIDRLabels(netip.PrefixFrom(addr, addr.BitLen()))
		for _, name := range ep.Names {
			for _, f := range fqdns {
				re, err := f.ToRegex()
				if err != nil {
					return nil, err
				}
				if re.MatchString(strings.ToLower(name)+".") || re.MatchString(strings.ToLower(name)) {
					l := f.IdentityLabel()
					lbls[l.Key] = l
				}
			}
		}
		return lbls.LabelArray(), nil
	case "reserved":
		return labels.NewLabelsFromModel(ep.Labels).LabelArray(), nil
	}
	return nil, fmt.Errorf("unknown endpoint kind %q", ep.Kind)
}

func parseProto(p string) (u8proto.U8proto, error) {
	switch strings.ToUpper(p) {
	case "TCP":
		return u8proto.TCP, nil
	case "UDP":
		return u8proto.UDP, nil
	case "SCTP":
		return u8proto.SCTP, nil
	case "ICMP", "ICMPV4":
		return u8proto.ICMP, nil
	case "ICMPV6":
		return u8proto.ICMPv6, nil
	}
	return 0, fmt.Errorf("unknown protocol %q", p)
}

func judge(req *request) response {
	entries, err := parsePolicies(req.Policies)
	if err != nil {
		return response{ID: req.ID, Error: err.Error()}
	}
	fqdns := fqdnSelectors(entries)
	ids := make([]*identity.Identity, len(req.Endpoints))
	idMap := identity.IdentityMap{}
	clusterPorts := ciliumtypes.NewNamedPortMultiMap()
	ownPorts := make([]ciliumtypes.NamedPortMap, len(req.Endpoints))
	for i, ep := range req.Endpoints {
		lbls, err := identityLabels(ep, fqdns)
		if err != nil {
			return response{ID: req.ID, Error: fmt.Sprintf("endpoints[%d]: %v", i, err)}
		}
		var nid identity.NumericIdentity
		switch ep.Kind {
		case "pod":
			nid = identity.NumericIdentity(10000 + i)
		case "external":
			nid = identity.IdentityScopeLocal | identity.NumericIdentity(100+i)
		case "reserved":
			name := strings.TrimPrefix(ep.Labels[0], "reserved:")
			nid = identity.GetReservedID(name)
			if nid == identity.IdentityUnknown {
				return response{ID: req.ID, Error: fmt.Sprintf("endpoints[%d]: unknown reserved identity %q", i, name)}
			}
		}
		ids[i] = identity.NewIdentityFromLabelArray(nid, lbls)
		idMap[nid] = lbls
		ownPorts[i] = ciliumtypes.NamedPortMap{}
		for _, p := range ep.Ports {
			if err := ownPorts[i].AddPort(p.Name, p.Port, p.Protocol); err != nil {
				return response{ID: req.ID, Error: fmt.Sprintf("endpoints[%d].ports: %v", i, err)}
			}
		}
		clusterPorts.Update(nil, ownPorts[i])
	}

	idmgr := identitymanager.NewIDManager(logger)
	l7 := envoypolicy.NewEnvoyL7RulesTranslator(logger, certificatemanager.NewMockSecretManagerInline())
	repo := policy.NewPolicyRepository(logger, nil, noCertificates{}, l7, idmgr, testpolicy.NewPolicyMetricsNoop())
	wg := &sync.WaitGroup{}
	repo.GetSubjectSelectorCache().UpdateIdentities(idMap, nil, wg)
	repo.GetSelectorCache().UpdateIdentities(idMap, nil, wg)
	wg.Wait()
	repo.ReplaceByResource(entries, "rampart-judge")

	distilled := map[int]*policy.EndpointPolicy{}
	distill := func(i int) (*policy.EndpointPolicy, error) {
		if epp, ok := distilled[i]; ok {
			return epp, nil
		}
		idmgr.Add(ids[i])
		sp, _, err := repo.GetSelectorPolicy(ids[i], 0, &stats{}, uint64(i+1))
		if err != nil {
			return nil, err
		}
		o := &owner{id: uint64(i + 1), own: ownPorts[i], cluster: clusterPorts}
		epp := sp.DistillPolicy(logger, o, realizedRedirects(sp, o))
		epp.Ready()
		distilled[i] = epp
		return epp, nil
	}

	results := make([]result, len(req.Cases))
	for n, c := range req.Cases {
		if c.Src < 0 || c.Src >= len(ids) || c.Dst < 0 || c.Dst >= len(ids) {
			return response{ID: req.ID, Error: fmt.Sprintf("cases[%d]: endpoint index out of range", n)}
		}
		proto, err := parseProto(c.Proto)
		if err != nil {
			return response{ID: req.ID, Error: fmt.Sprintf("cases[%d]: %v", n, err)}
		}
		r := result{Egress: "none", Ingress: "none"}
		if req.Endpoints[c.Src].Kind == "pod" {
			epp, err := distill(c.Src)
			if err != nil {
				return response{ID: req.ID, Error: fmt.Sprintf("cases[%d]: %v", n, err)}
			}
			entry, _, _ := epp.Lookup(policy.EgressKey().WithIdentity(ids[c.Dst].ID).WithPortProto(proto, uint16(c.Port)))
			r.Egress = verdict(entry)
		}
		if req.Endpoints[c.Dst].Kind == "pod" {
			epp, err := distill(c.Dst)
			if err != nil {
				return response{ID: req.ID, Error: fmt.Sprintf("cases[%d]: %v", n, err)}
			}
			entry, _, _ := epp.Lookup(policy.IngressKey().WithIdentity(ids[c.Src].ID).WithPortProto(proto, uint16(c.Port)))
			r.Ingress = verdict(entry)
		}
		results[n] = r
	}
	for _, epp := range distilled {
		epp.Detach(logger)
	}
	return response{ID: req.ID, Results: results}
}

// realizedRedirects gives every L7 filter a proxy port, as the agent does once its proxies run
// (pkg/endpoint/policy.go proxyID): an L7 rule then admits the connection at L4 and leaves the
// request to the proxy. Without them the distilled policy skips unrealized redirects.
func realizedRedirects(sp policy.SelectorPolicy, o *owner) map[string]uint16 {
	redirects := map[string]uint16{}
	for l4, tuple := range sp.RedirectFilters() {
		port := l4.Port
		proto := l4.U8Proto
		if proto == 0 && !l4.Protocol.IsAny() {
			proto, _ = u8proto.ParseProtocol(string(l4.Protocol))
		}
		if port == 0 && l4.PortName != "" {
			port = o.GetNamedPort(l4.Ingress, l4.PortName, proto)
			if port == 0 {
				continue
			}
		}
		redirects[policy.ProxyID(uint16(o.id), l4.Ingress, string(l4.Protocol), port, tuple.Policy.GetListener())] = 15001
	}
	return redirects
}

func verdict(e policy.MapStateEntry) string {
	if e.IsDeny() {
		return "deny"
	}
	return "allow"
}

func main() {
	api.InitEntities(clusterName)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		line := in.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var req request
		var resp response
		if err := json.Unmarshal(line, &req); err != nil {
			resp = response{ID: req.ID, Error: "bad request: " + err.Error()}
		} else {
			resp = func() (r response) {
				defer func() {
					if p := recover(); p != nil {
						r = response{ID: req.ID, Error: fmt.Sprintf("panic: %v", p)}
					}
				}()
				return judge(&req)
			}()
		}
		if err := enc.Encode(resp); err != nil {
			os.Exit(1)
		}
		if err := out.Flush(); err != nil {
			os.Exit(1)
		}
	}
}
