"""Mentoring programmes: cycles, applications, matching, check-ins (docs/ARCHITECTURE.md)."""
