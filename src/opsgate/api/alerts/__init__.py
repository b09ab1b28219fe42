"""Alert intake: Alertmanager and generic webhooks that open read-only investigations.

`payloads` parses what senders post into one `Notification`, `signing` authenticates the
sender (bearer token or HMAC signature), `request` writes the investigation's request with
the alert quoted as untrusted data, and `intake` decides (dedupe, rate limit, open, note) and
audits. `api.routes.alerts` is the HTTP face; docs/alerts.md the user's guide.
"""
