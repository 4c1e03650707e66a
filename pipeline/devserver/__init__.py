"""A loopback OpenAI-compatible server for tests, benchmarks and rehearsals.

Apart from the product's path: nothing but the CLI imports it. It reads only what is on
the wire (this project's prompt convention) and answers so that the validator passes,
with injectable latency, rate limits and faults. Its answers prove plumbing, not judgement.
"""
