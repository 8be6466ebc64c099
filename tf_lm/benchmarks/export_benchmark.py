"""`tf-lm bench export`: the exported model, loaded as TF Serving loads it, against Python."""

import collections
import tempfile

import numpy as np

from tf_lm.benchmarks.measure import timed


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
        for node in device.node_stats:  # timeline_label: "name = OpType(inputs)"
            op = node.timeline_label.partition(" = ")[2].partition("(")[0] or "?"
            calls[op] += 1
            micros[op] += node.all_end_rel_micros
    table = [{"op": op, "per_token": calls[op] / new_tokens, "us_each": micros[op] / calls[op],
              "us_per_token": micros[op] / new_tokens}
             for op, _ in micros.most_common(top)]
    return sum(calls.values()) / new_tokens, sum(micros.values()) / new_tokens, table


def bench_export(workload, new_tokens=255, batches=(1, 8), repeats=3, trace=False):
    """Latency of `serving_default` (TF1 Session, no XLA: the model server's path) against
    `TextGenerator.generate` (the in-Python, XLA-compiled loop), greedy, text in and out.

    Returns one dict per batch size: `batch`, `exported_ms`, `python_ms`, `ratio`
    (exported / Python), and both in new tokens/s. With `trace`, also the exported call's
    `ops_per_token`, `op_us_per_token` and `op_table` (see `op_profile`).
    """
    import tensorflow as tf

    from tf_lm.config.export_config import ExportConfig
    from tf_lm.generation.text_generator import TextGenerator
    from tf_lm.serving import export_model

    model = workload.model()
    tokenizer = workload.tokenizer
    generator = TextGenerator(model, tokenizer)
    limit = max(new_tokens, ExportConfig().max_new_tokens_limit)
    text = tokenizer.decode(workload.tokens[:8])
    results = []
    with tempfile.TemporaryDirectory() as base:
        path = export_model(model, tokenizer, base, "bench",
                            export_config=ExportConfig(max_new_tokens_limit=limit))
        session = tf.compat.v1.Session(graph=tf.Graph())
        with session.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        signature = meta_graph.signature_def["serving_default"]
        for batch in batches:
            prompts = [text] * batch
            feed = {signature.inputs["prompts"].name:
                    np.array([p.encode("utf-8") for p in prompts], object),
                    signature.inputs["max_new_tokens"].name: np.int32(new_tokens)}
            fetch = signature.outputs["text"].name
            python, _ = timed(lambda: generator.generate(prompts, max_new_tokens=new_tokens),
                              repeats)
            exported, _ = timed(lambda: session.run(fetch, feed), repeats)
            result = {
                "batch": batch,
                "exported_ms": exported * 1000,
                "python_ms": python * 1000,
                "ratio": exported / python,
                "exported_tokens_per_s": batch * new_tokens / exported,
                "python_tokens_per_s": batch * new_tokens / python,
                "new_tokens": new_tokens,
            }
            if trace:
                ops, micros, table = op_profile(session, fetch, feed, new_tokens)
                result.update(ops_per_token=ops, op_us_per_token=micros, op_table=table)
            results.append(result)
        session.close()
    return results
