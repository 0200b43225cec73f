"""Doors of forum/team: the guard, the officer pages for roles, audit log and webhooks, SSO."""
