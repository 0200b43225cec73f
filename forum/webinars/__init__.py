"""Webinars: seats and the waiting list, personal join links, recordings and materials."""
