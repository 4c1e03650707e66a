"""A loopback OpenAI-compatible server for tests, benchmarks and rehearsals.

Apart from the product's path: nothing but the CLI imports it. It reads only what is on
the wire (this project's prompt convention) and answers so that the validator passes,
with injectable latency, rate limits and faults. Its answers prove plumbing, not judgement.

``server.py`` speaks HTTP and routes; ``config.py`` holds the config and its flags;
``chat.py`` answers a chat request (live or batched) from ``answers.py``'s texts;
``faults.py`` has every injected fault as the real server sends it; ``embeddings.py``,
``files.py`` and ``batches.py`` serve those APIs; ``wire.py`` is what they exchange.
"""
