"""The live board: a static page (no build step) and the router that serves it."""
