"""``make bench``: the ACS under load on this machine, results under benchmarks/results/."""
