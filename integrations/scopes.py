"""OAuth2 scopes for system clients, and the scope each API action needs."""

SCOPES: dict[str, str] = {
    "read": "Read definitions, instances, tasks, approvals and incidents the client may see",
    "definitions:deploy": "Deploy definitions and change the active version",
    "instances:start": "Start process instances",
    "instances:manage": "Cancel, suspend, resume instances, change variables, complete steps, retry incidents",
    "messages:correlate": "Correlate messages",
    "signals:send": "Broadcast signals",
    "tasks:complete": "Claim, complete, delegate tasks and decide approvals",
    "webhooks:manage": "Manage webhook subscriptions and dead letters",
}
