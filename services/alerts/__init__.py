"""The shift lead's live board feed, acknowledgements, notifications and staffing advice."""
