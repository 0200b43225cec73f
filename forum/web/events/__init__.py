"""Doors (pages, officer pages, API) of the events area."""
