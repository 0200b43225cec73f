"""Core: settings, extensions, the clock, time zones, tokens, text, validation and URL building. Imports nothing else of forum."""
