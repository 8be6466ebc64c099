"""`tf-lm bench export`: the exported model, loaded as TF Serving loads it, against Python."""

import collections
import tempfile

import numpy as np

from tf_lm.benchmarks.measure import alternated, timed
from tf_lm.errors import InputError
from tf_lm.run_dir.export_directory import ExportDirectory


class ServedExport:
    """An exported model loaded as TF Serving loads it: a TF1 Session, no XLA."""

    def __init__(self, path, flag="--against"):
        import tensorflow as tf

        self.path = path
        self.session = tf.compat.v1.Session(graph=tf.Graph())
        try:
            with self.session.graph.as_default():
                meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], path)
        except Exception as error:  # a missing tag, missing variables, a corrupt proto...
            self.session.close()
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputError(f"{flag} must be a loadable SavedModel. Received: {path!r} "
                             f"({first_line})") from None
        signature = meta_graph.signature_def.get("serving_default")
        if signature is None or not {"prompts", "max_new_tokens"} <= set(signature.inputs) \
                or "text" not in signature.outputs:
            self.session.close()
            raise InputError(
                f"{flag} must be a tf_lm export: a serving_default signature from prompts "
                f"and max_new_tokens to text. Received: {path!r}")
        self.signature = signature

    def request(self, prompts, new_tokens):
        """`(fetch, feed)` of a greedy `serving_default` call on `prompts`."""
        inputs = self.signature.inputs
        feed = {inputs["prompts"].name: np.array([p.encode("utf-8") for p in prompts], object),
                inputs["max_new_tokens"].name: np.int32(new_tokens)}
        return self.signature.outputs["text"].name, feed

    def call(self, prompts, new_tokens):
        """A function that makes that call."""
        fetch, feed = self.request(prompts, new_tokens)
        return lambda: self.session.run(fetch, feed)


def op_profile(session, fetch, feed, new_tokens, top=15):
    """Where one call's time goes, per op type: one `session.run` with a full trace (the
    executor's step statistics, not the profiler's sampling).

    Returns `(ops_per_token, op_us_per_token, table)`: executed ops and their summed time per
    new token (ops run on several threads at once, so the time exceeds the wall time), and
    the `top` op types by time as dicts of `op`, `per_token` (calls), `us_each`, `us_per_token`.
    """
    import tensorflow as tf

    metadata = tf.compat.v1.RunMetadata()
    session.run(fetch, feed, run_metadata=metadata,
                options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE))
    calls, micros = collections.Counter(), collections.Counter()
    for device in metadata.step_stats.dev_stats:
        if "/stream:" in device.device or "memcpy" in device.device:
            continue  # a GPU's streams repeat its kernels
        for node in device.node_stats:  # timeline_label: "name = OpType(inputs)"
            op = node.timeline_label.partition(" = ")[2].partition("(")[0] or "?"
            calls[op] += 1
            micros[op] += node.all_end_rel_micros
    table = [{"op": op, "per_token": calls[op] / new_tokens, "us_each": micros[op] / calls[op],
              "us_per_token": micros[op] / new_tokens}
             for op, _ in micros.most_common(top)]
    return sum(calls.values()) / new_tokens, sum(micros.values()) / new_tokens, table


def bench_export(workload, new_tokens=255, batches=(1, 8), repeats=3, trace=False,
                 against=None):
    """Latency of `serving_default` (TF1 Session, no XLA: the model server's path) against
    `TextGenerator.generate` (the in-Python, XLA-compiled loop), greedy, text in and out.

    Returns one dict per batch size: `batch`, `exported_ms`, `python_ms`, `ratio`
    (exported / Python), and both in new tokens/s. With `trace`, also the exported call's
    `ops_per_token`, `op_us_per_token` and `op_table` (see `op_profile`). With `against`, the
    path of another export (an earlier tree's, say), its calls alternate with this export's
    and the dict adds `against_ms` and `against_ratio` (this export's time / the other's).
    """
    from tf_lm.config.export_config import ExportConfig
    from tf_lm.generation.text_generator import TextGenerator
    from tf_lm.serving import export_model

    peer = None
    if against is not None:
        peer = ServedExport(ExportDirectory.newest(against, "--against").path)
    results = []
    try:
        model = workload.model()
        tokenizer = workload.tokenizer
        generator = TextGenerator(model, tokenizer)
        limit = max(new_tokens, ExportConfig().max_new_tokens_limit)
        text = tokenizer.decode(workload.tokens[:8])
        with tempfile.TemporaryDirectory() as base:
            served = ServedExport(export_model(
                model, tokenizer, base, "bench",
                export_config=ExportConfig(max_new_tokens_limit=limit)))
            try:
                for batch in batches:
                    results.append(_measure(served, peer, generator, [text] * batch,
                                            new_tokens, repeats, trace))
            finally:
                served.session.close()
    finally:
        if peer is not None:
            peer.session.close()
    return results


def _measure(served, peer, generator, prompts, new_tokens, repeats, trace):
    """One batch size's dict (see `bench_export`)."""
    import tensorflow as tf

    batch = len(prompts)
    call = served.call(prompts, new_tokens)
    python, _ = timed(lambda: generator.generate(prompts, max_new_tokens=new_tokens), repeats)
    if peer is None:
        exported, _ = timed(call, repeats)
    else:
        peer_call = peer.call(prompts, new_tokens)
        try:
            peer_call()
        except tf.errors.OpError as error:
            raise InputError(
                f"The model at --against {peer.path} refused the benchmark's request "
                f"({batch} prompts, max_new_tokens={new_tokens}): "
                f"{error.message.splitlines()[0]}") from None
        exported, other = alternated([call, peer_call], repeats)
    result = {
        "batch": batch,
        "exported_ms": exported * 1000,
        "python_ms": python * 1000,
        "ratio": exported / python,
        "exported_tokens_per_s": batch * new_tokens / exported,
        "python_tokens_per_s": batch * new_tokens / python,
        "new_tokens": new_tokens,
    }
    if peer is not None:
        result.update(against_ms=other * 1000, against_ratio=exported / other)
    if trace:
        ops, micros, table = op_profile(served.session, *served.request(prompts, new_tokens),
                                        new_tokens)
        result.update(ops_per_token=ops, op_us_per_token=micros, op_table=table)
    return result
