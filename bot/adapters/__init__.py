"""Adapters: the outside world (Semaphore, Slack) behind the ports the service layer uses."""
