"""Demo data for `make run` (`flask forum demo`)."""
