"""The `kontakt` command line: one typer app; each subcommand group lives in its own module."""
