"""Doors (pages, officer pages, API) of the webinars area."""
