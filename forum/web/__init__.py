"""The doors: a folder per area (pages, officer pages, API, forms) over the areas' services,
and what every door shares (security headers, conditional responses, charts, form bases).
Wired into the app by `forum.web.blueprints`."""
