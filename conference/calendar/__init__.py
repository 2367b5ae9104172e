"""iCalendar: meeting invitations (iTIP REQUEST/CANCEL), per-unit subscription feeds."""
