"""Errors that carry a message meant for the person at the terminal."""


class UserError(Exception):
    """A problem the user can fix; the CLI prints it as one clear line, never a traceback."""
