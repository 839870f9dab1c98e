"""Developer tools, outside the shipped package: the benchmark and the load script
(``caseboard bench``, ``caseboard load`` from a checkout)."""
