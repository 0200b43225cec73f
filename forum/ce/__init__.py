"""Continuing education: attendance, CE hours and completion, certificates, evaluations."""
