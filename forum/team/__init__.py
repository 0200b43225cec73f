"""Officers as a team: roles per event, the audit log, webhooks out, single sign-on."""
