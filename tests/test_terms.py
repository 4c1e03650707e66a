"""Names in summaries and whether the title or abstract supports them."""

from __future__ import annotations

import pytest

from pipeline.thresholds import DEFAULT_THRESHOLDS as T
from pipeline.validate.terms import Vocabulary, key, names, unsupported


def _missing(field: str, *source: str) -> list[str]:
    return unsupported(field, Vocabulary(source), every_word=True, thresholds=T)


# The examples, from real summaries of the calibration set: each was a false alarm.
@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        ("在7B-27B模型上验证", "models from 7B to 27B"),  # a range is no name ("B-27B")
        ("覆盖124M-7B参数规模", "from 124M to 7B parameters"),
        ("F1分数提升", "improves $F_1$ scores"),  # LaTeX subscripts
        ("L2正则化", "an $L_2$ penalty"),
        ("H2O3D数据集", "on H$_2$O3D"),
        ("Pythia-1.4B模型", "Pythia-$1.4$B"),
        ("mAP50为51.4%", "51.4\\% mAP\\textsubscript{50}"),
        ("最小化KL散度", "minimising the Kullback-Leibler divergence"),  # listed two-letter abbreviations
        ("基于CT图像", "from computed tomography scans"),
        ("Flickr30K上的检索", "retrieval on Flickr 30K"),  # split and glued tokens
        ("AUC为94.79%", "reaches an andAUCof94.79%"),
        ("SkyLume数据集", "we introduceSkyLume, a dataset"),
        ("GPT-4.5的表现", "GPT 4.5 performs"),
        ("减少bias", "reduces biases of the model"),  # the plural rule
        ("多个bias", "one bias"),
        ("Möbius变换", 'a M\\"obius transformation'),  # accents on both sides
        ("Schrödinger桥", 'a Schr\\"odinger bridge'),
        ("Bézier曲线", "B\\'ezier curves"),
        ("位置ID", "position IDs"),  # acronym plurals
        ("结构化KG", "structured knowledge graphs (KGs)"),
        ("IoU提升", "intersection over union"),  # mixed-case acronyms
        ("mAP提高", "mean average precision"),
        ("预训练ViT", "a pre-trained vision transformer"),
        ("LoRA微调", "Low-Rank Adaptation"),
        ("基于RLHF", "Reinforcement Learning from Human Feedback"),  # fillers: from, by, via
        ("使用Hugging Face模型", "models on huggingface.co"),  # two words for one
        ("基于GPT-4的评估", "achieves parity with GPT-4-based evaluations"),  # a hyphenated name's leading parts
        ("HLE基准", "up to 28.7% on Humanity's Last Exam"),
        ("YOLO模型（v3、v4）", "YOLOv3 and YOLOv4 detectors"),
        ("N log N复杂度", "runs in $N\\log N$ time"),
        ("10万token时需要TB级内存", "hundreds of thousands of tokens"),  # a unit is no name
    ],
)
def test_real_names_are_supported(field: str, abstract: str) -> None:
    assert _missing(field, "A Title", abstract) == []


def test_a_title_with_a_latex_macro_keeps_its_name() -> None:
    """A title with a macro (\\ECUAS{n}) made its paper unrepairable ("ECUAS not in the title")."""
    assert _missing("ECUAS在多个任务上表现优异。", "\\ECUAS{n}: Efficient Coding", "We present \\ECUAS{}.") == []


@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        ("并与XGBoost对比", "We study EEG signals with a small network."),
        ("使用GPT-4评估", "annotated with GPT-4o and Gemini 2.0"),  # another version of a model
        ("基于GPT-4V", "we generate pseudo training data"),  # three initials and a version
        ("UniHDSA框架", "a unified framework for document layout"),
        ("OpenStreetMap (OffsetOPT)请求", "OpenStreetMap (OSM) overpass-turbo requests, offset of our data"),
        ("VModA提出", "video models adapt a prior"),  # a lone first capital is no word's start
        ("与EM算法对比", "we measure energy metrics"),  # two letters are never initials
    ],
)
def test_foreign_names_are_not_supported(field: str, abstract: str) -> None:
    assert _missing(field, "A Title", abstract) != []


def test_quantities_are_not_names() -> None:
    assert names("在7B-27B、2D-3D、1920x1080和50ms下，3DGS更快", every_word=True, min_chars=2) == ["3DGS"]


@pytest.mark.parametrize(
    ("term", "folded"),
    [("LLMs", "llm"), ("IDs", "id"), ("bias", "bias"), ("corpus", "corpus"), ("GANs", "gan"), ("Shss-RCM", "shssrcm")],
)
def test_key_folds_case_hyphens_and_plurals(term: str, folded: str) -> None:
    assert key(term) == folded
