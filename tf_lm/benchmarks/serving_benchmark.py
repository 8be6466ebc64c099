"""`tf-lm bench serve`: an export loaded once as TF Serving loads it, called from many threads."""

import concurrent.futures
import time

import numpy as np

from tf_lm.benchmarks.export_benchmark import ServedExport
from tf_lm.benchmarks.measure import current_rss_mb

# A request the model server must refuse with INVALID_ARGUMENT, by what is wrong with it.
INVALID = ("max_new_tokens above the limit", "max_new_tokens 0", "temperature -1",
           "top_p 1.5", "top_k -3", "per-row values for another batch", "prompt not UTF-8",
           "prompt longer than max_input_tokens")


def mixed_requests(prompts, count, limit, max_input_tokens, seed=0, invalid_share=0.1):
    """`count` `serving_default` requests as {input name: value}: batch sizes 1–4, greedy,
    temperature, top-k, top-p and repetition-penalty sampling with their seeds, 1–16 new
    tokens, one value or one per row; about `invalid_share` of them bad in one of the
    `INVALID` ways (each request carries `"_invalid"`: the reason or None)."""
    rng = np.random.default_rng(seed)
    requests = []
    for i in range(count):
        batch = int(rng.integers(1, 5))
        rows = [prompts[int(j)] for j in rng.integers(0, len(prompts), batch)]
        request = {"prompts": rows, "max_new_tokens": int(rng.choice([1, 4, 8, 16])),
                   "seed": int(rng.integers(0, 2 ** 31 - 1))}
        sampler = i % 5
        if sampler == 1:
            request["temperature"] = float(rng.choice([0.5, 0.8, 1.2]))
        elif sampler == 2:
            request["top_k"] = [int(k) for k in rng.integers(1, 20, batch)]  # one per row
        elif sampler == 3:
            request["top_p"] = float(rng.choice([0.5, 0.9]))
        elif sampler == 4:
            request["repetition_penalty"] = 1.3
        reason = None
        if rng.random() < invalid_share:
            reason = INVALID[int(rng.integers(0, len(INVALID)))]
            request = _spoiled(request, reason, limit, max_input_tokens)
        request["_invalid"] = reason
        requests.append(request)
    return requests


def _spoiled(request, reason, limit, max_input_tokens):
    request = dict(request)
    if reason == "max_new_tokens above the limit":
        request["max_new_tokens"] = limit + 1
    elif reason == "max_new_tokens 0":
        request["max_new_tokens"] = 0
    elif reason == "temperature -1":
        request["temperature"] = -1.0
    elif reason == "top_p 1.5":
        request["top_p"] = 1.5
    elif reason == "top_k -3":
        request["top_k"] = -3
    elif reason == "per-row values for another batch":
        request["seed"] = list(range(len(request["prompts"]) + 1))
    elif reason == "prompt not UTF-8":
        request["prompts"] = [b"\xff\xfe broken"] + request["prompts"][1:]
    else:
        request["prompts"] = ["a " * (max_input_tokens + 1)] + request["prompts"][1:]
    return request


class ServedCalls:
    """`serving_default` of an export in a TF1 Session, as the model server runs it: one
    graph and session for every thread, each request one `session.run`."""

    def __init__(self, served):
        self.session, self.signature = served.session, served.signature
        self.names = sorted(self.signature.outputs)

    def feed(self, request):
        import tensorflow as tf

        inputs = self.signature.inputs
        feed = {}
        for name, value in request.items():
            if name.startswith("_"):
                continue
            if name == "prompts":
                value = np.array([v if isinstance(v, bytes) else v.encode("utf-8")
                                  for v in value], object)
            dtype = tf.dtypes.as_dtype(inputs[name].dtype).as_numpy_dtype  # str -> object
            feed[inputs[name].name] = np.asarray(value, dtype=dtype)
        return feed

    def __call__(self, request):
        """('ok', {output: list}) or ('INVALID_ARGUMENT', message), and the seconds taken."""
        import tensorflow as tf

        fetches = [self.signature.outputs[n].name for n in self.names]
        feed = self.feed(request)
        start = time.perf_counter()
        try:
            values = self.session.run(fetches, feed)
        except tf.errors.InvalidArgumentError as error:
            message = " ".join(error.message.split())
            return ("INVALID_ARGUMENT", message[:2000]), time.perf_counter() - start
        answer = {n: np.asarray(v).tolist() for n, v in zip(self.names, values)}
        return ("ok", answer), time.perf_counter() - start


def serve_concurrently(calls, requests, clients):
    """Every request once, from `clients` threads; returns (answers, latencies, seconds)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        start = time.perf_counter()
        done = list(pool.map(calls, requests))
        seconds = time.perf_counter() - start
    return [a for a, _ in done], np.array([s for _, s in done]), seconds


def check_answers(requests, alone, together):
    """Disagreements between answers given concurrently and the same requests made alone, and
    requests whose validity the answer contradicts: [(index, what)]; empty when all agree."""
    wrong = []
    for i, (request, a, b) in enumerate(zip(requests, alone, together)):
        expected = "INVALID_ARGUMENT" if request["_invalid"] else "ok"
        if a[0] != expected:
            wrong.append((i, f"alone: {a[0]} {str(a[1])[:200]} (expected {expected})"))
        elif b != a:
            wrong.append((i, f"concurrently: {str(b)[:200]} != alone: {str(a)[:200]}"))
    return wrong


def bench_serving(served, prompts, clients=(1, 4, 8), count=300, limit=40,
                  max_input_tokens=1024, seed=0):
    """Requests/s and p50/p99 latency at each number of concurrent clients, every answer
    checked against the same request made alone, and the memory the runs added.

    Returns one dict per client count: `clients`, `requests`, `invalid`, `wrong`,
    `requests_per_second`, `p50_ms`, `p99_ms`, `rss_growth_mb` (resident memory after this
    run minus after the warm-up, the first sequential pass).
    """
    calls = ServedCalls(served)
    requests = mixed_requests(prompts, count, limit, max_input_tokens, seed)
    alone = [calls(r)[0] for r in requests]  # the warm-up: every shape traced once
    warm_rss = current_rss_mb()
    results = []
    for n in clients:
        together, latencies, seconds = serve_concurrently(calls, requests, n)
        results.append({
            "clients": n, "requests": len(requests),
            "invalid": sum(bool(r["_invalid"]) for r in requests),
            "wrong": len(check_answers(requests, alone, together)),
            "requests_per_second": len(requests) / seconds,
            "p50_ms": float(np.percentile(latencies, 50) * 1e3),
            "p99_ms": float(np.percentile(latencies, 99) * 1e3),
            "rss_growth_mb": current_rss_mb() - warm_rss})
    return results


def bench_serve(workload, clients=(1, 4, 8), count=300, export_dir=None, seed=0):
    """`bench_serving` on `export_dir` (a version or model folder of a language-model
    export), or on the workload's model exported to a temporary folder; prompts are pieces
    of the workload's corpus."""
    import tempfile

    from tf_lm.config.export_config import ExportConfig
    from tf_lm.run_dir.export_directory import ExportDirectory
    from tf_lm.serving import export_model

    prompts = [workload.tokenizer.decode(workload.tokens[i:i + length])
               for i, length in ((0, 8), (100, 3), (200, 16), (300, 1), (400, 32))]
    with tempfile.TemporaryDirectory() as base:
        if export_dir is None:
            path = export_model(workload.model(), workload.tokenizer, base, "bench",
                                export_config=ExportConfig())
        else:
            path = ExportDirectory.newest(export_dir, "--export-dir").path
        limits = ExportDirectory(path).metadata()["limits"]
        served = ServedExport(path, "--export-dir")
        try:
            return bench_serving(served, prompts, clients, count, limits["max_new_tokens"],
                                 limits["max_input_tokens"], seed)
        finally:
            served.session.close()
