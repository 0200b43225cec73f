"""Subscriptions and registrations: subscribe, confirm, leave, preferences, imports, erasure."""
