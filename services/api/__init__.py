"""The FastAPI application: one app built by :func:`services.api.app.create_app`."""
