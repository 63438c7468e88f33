"""Jobs: everything periodic or slow, run once per period across every node."""
