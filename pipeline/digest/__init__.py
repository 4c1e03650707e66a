"""The formats and their lossless models (the bottom stage: it imports no other stage).

Enters: paths and the bytes of Markdown digests, enhanced JSONL and raw crawl files.
Leaves: ``Document``s whose papers point into the exact text, ``render()`` bytes that
equal the input wherever nothing changed, insertion of restored papers, the markup a
value may carry, and atomic writes. What upstream writes for a failed field
(``placeholders``) is part of its format, so ``Paper.failed_fields`` is answered here.
"""
