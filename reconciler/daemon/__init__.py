"""The GitOps daemon: triggers, backoff, webhook, metrics, sd_notify, and the shared cycle lock."""
