"""Doors (pages, officer pages, API) of the subscriptions area."""
