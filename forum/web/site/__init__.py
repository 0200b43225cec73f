"""Doors (pages, officer pages, API) of the site area."""
