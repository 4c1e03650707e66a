"""One reading of LaTeX for every check: the abstract's source and the summary's prose meet."""

from __future__ import annotations

import pytest

from pipeline.validate.latex import normalize, words


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        ("$\\geq80\\%$", "≥80%"),
        ("$F_1$ scores", "F1 scores"),
        ("$L_{2}$", "L2"),
        ("H$_2$O3D", "H2O3D"),
        ("Pythia-$1.4$B", "Pythia-1.4B"),
        ('Schr\\"odinger', "Schrodinger"),
        ("B\\'ezier", "Bezier"),
        ("Möbius", "Mobius"),
        ("Łukasiewicz", "Lukasiewicz"),
        ("\\ECUAS{n}: a title", "ECUAS n: a title"),
        ("$\\sim24\\%$", "~24%"),
        ("1024²", "1024^2"),
        ("$1024^2$", "1024^2"),
        ("$5\\times10^{9}$", "5×10^9"),
        ("10\\textsuperscript{92}", "10^92"),
        ("mAP\\textsubscript{50}", "mAP50"),
        ("PM$_{2.5}$", "PM2.5"),
        ("$N\\log N$", "N log N"),
        ("$\\ell_2$", "ell2"),
        ("14~M tokens", "14 M tokens"),
        ("Bj{\\o}ntegaard", "Bjontegaard"),
        ("E³-Pruner", "E3-Pruner"),
        ("${D}^{3}$ETOR", "D3ETOR"),
        ("\\href{URL}{HuggingFace}", "HuggingFace"),
        ("1{,}000", "1,000"),
        ("\\cite{magnus99} shows", "shows"),
    ],
)
def test_latex_reads_as_the_prose_a_summary_writes(latex: str, plain: str) -> None:
    assert " ".join(normalize(latex).split()) == plain


def test_words_keep_possessives_and_drop_numbers() -> None:
    assert words("Humanity's Last Exam, 28.7% on GPT-4o") == ("Humanity's", "Last", "Exam", "on", "GPT", "o")
