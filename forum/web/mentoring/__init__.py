"""The mentoring doors: public and signed-link pages, officer pages, the JSON API."""
