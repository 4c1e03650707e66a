"""Decide whether summary fields may be written: fidelity to the paper's abstract.

Enters: a paper's title, abstract and target language, and candidate fields (from a
model, or already in a digest for ``audit``); for the grounding check, the other papers
of its day.
Leaves: ``Problem``s with stable codes (schema, placeholder, language, numbers, terms,
markup, length, duplicate, grounding), which the generation loop re-asks with and
``audit`` reports.
"""
