"""Find what needs repair in a digest.

Enters: ``Document``s (and their day's crawl).
Leaves: failed fields (missing, blank, placeholder), suspect fields (written in another
language than the digest's), dropped papers, and the language a digest is written in:
the per-file summaries ``scan`` prints.
"""
