"""The scheduler process and the jobs it runs."""
