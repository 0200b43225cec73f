"""Registration questions, their answers, conditions and the approval of registrations."""
