"""Local stand-ins for services deploybot talks to, for tests, the demo and benchmarks.
(Semaphore's is `semaphore_client.simulator`.)"""
