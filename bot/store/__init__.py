"""Where deploybot keeps its state: Redis in production, an in-process store otherwise."""

from bot.store.base import Applied, Commit, Store
from bot.store.memory import MemoryStore
from bot.store.redis import RedisStore

__all__ = ["Applied", "Commit", "MemoryStore", "RedisStore", "Store"]
