"""The pure core: domain values and deployment rules. No Slack, Redis or HTTP imports here."""
