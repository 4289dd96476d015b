"""Where deploybot keeps its state: Redis in production, an in-process store otherwise."""

from redis.exceptions import RedisError

from bot.store.base import Applied, Commit, Store
from bot.store.memory import MemoryStore
from bot.store.redis import RedisStore

#: What the store raises when it cannot be reached right now (refused, timed out, failed over).
UNREACHABLE: tuple[type[Exception], ...] = (RedisError,)

__all__ = ["UNREACHABLE", "Applied", "Commit", "MemoryStore", "RedisStore", "Store"]
