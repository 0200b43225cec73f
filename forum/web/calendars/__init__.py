"""Doors (pages, officer pages, API) of the calendars area."""
