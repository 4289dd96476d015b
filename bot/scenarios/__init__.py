"""Whole scenarios on loopback: the Semaphore simulator, the bot and its store, driven over HTTP."""
