// The reference for Hubble's IP flow filters: Cilium's pkg/hubble/filters/ip.go
// (filterByIPs, v1.19.4) on Go's net/netip, copied as is. Each input line is
// "<filter>\t<flow IP>"; each output line is "reject", "match" or "nomatch".
// Filters and IPs are JSON strings so any byte can be tested.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
)

func filterByIPs(ips []string) (func(string) bool, error) {
	var addresses []string
	var prefixes []netip.Prefix
	for _, ip := range ips {
		if strings.Contains(ip, "/") {
			prefix, err := netip.ParsePrefix(ip)
			if err != nil {
				return nil, fmt.Errorf("invalid IP prefix %q in filter: %w", ip, err)
			}
			prefixes = append(prefixes, prefix)
		} else {
			_, err := netip.ParseAddr(ip)
			if err != nil {
				return nil, fmt.Errorf("invalid IP address %q in filter: %w", ip, err)
			}
			addresses = append(addresses, ip)
		}
	}
	return func(eventIP string) bool {
		if eventIP == "" {
			return false
		}
		if slices.Contains(addresses, eventIP) {
			return true
		}
		if len(prefixes) > 0 {
			addr, err := netip.ParseAddr(eventIP)
			if err != nil {
				return false
			}
			return slices.ContainsFunc(prefixes, func(prefix netip.Prefix) bool {
				return prefix.Contains(addr)
			})
		}
		return false
	}, nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var pair [2]string
		if err := json.Unmarshal(in.Bytes(), &pair); err != nil {
			fmt.Fprintln(os.Stderr, "bad input line:", err)
			os.Exit(2)
		}
		f, err := filterByIPs([]string{pair[0]})
		switch {
		case err != nil:
			fmt.Fprintln(out, "reject")
		case f(pair[1]):
			fmt.Fprintln(out, "match")
		default:
			fmt.Fprintln(out, "nomatch")
		}
	}
}
