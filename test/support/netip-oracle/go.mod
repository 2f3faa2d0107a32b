module rampart.test/netip-oracle

go 1.22
