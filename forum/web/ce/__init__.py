"""Doors (pages, officer pages, API) of the ce area."""
