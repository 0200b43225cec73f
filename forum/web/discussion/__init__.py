"""Doors (pages, officer pages, API) of the discussion area."""
