"""Outbound integrations: signed webhooks and WeCom / DingTalk group robots, fed by an outbox."""
