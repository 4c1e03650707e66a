"""Ask a model (or the offline extractive provider) for a paper's missing fields.

Enters: a ``PaperRequest`` (title, abstract, fields, language, style examples) and a
``Validate`` callable.
Leaves: a ``Generation`` whose fields passed the answer schema and the injected
validator, or ``GenerationFailed`` with reasons and accounting. Inside: prompt templates,
the answer schema, tolerant JSON decoding, the HTTP client with its retries and response
modes, the providers, the cache of accepted answers, and the text embedders the
validator's grounding check uses.
"""
