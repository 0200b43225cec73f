"""Doors (pages, officer pages, API) of the mail area."""
