"""Events and sessions: officer actions every door calls, announcements, reminders."""
