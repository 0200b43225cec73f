"""Doors (pages, officer pages, API) of the pathways area."""
