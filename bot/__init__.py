"""deploybot: Semaphore CI deployments driven through ordered, blockable stages from Slack."""

__version__ = "0.1.0"
