"""Calendars: iTIP invitations, updates and cancellations, feeds, VTIMEZONEs, add-to-calendar links, calendar replies (RSVP)."""
