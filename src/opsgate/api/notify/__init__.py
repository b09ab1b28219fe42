"""Telling people outside opsgate: outgoing webhooks (`signing`, `outbox`).

The app's lifespan runs one `outbox.WebhookOutbox` per replica; the webhook routes
(`api.routes.webhooks`) and `opsgate webhooks` manage what it tells whom.
"""
