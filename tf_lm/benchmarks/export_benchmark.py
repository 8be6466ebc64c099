"""`tf-lm bench export`: the exported model, loaded as TF Serving loads it, against Python."""

import tempfile

import numpy as np

from tf_lm.benchmarks.measure import timed


def bench_export(workload, new_tokens=255, batches=(1, 8), repeats=3):
    """Latency of `serving_default` (TF1 Session, no XLA: the model server's path) against
    `TextGenerator.generate` (the in-Python, XLA-compiled loop), greedy, text in and out.

    Returns one dict per batch size: `batch`, `exported_ms`, `python_ms`, `ratio`
    (exported / Python), and both in new tokens/s.
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
            results.append({
                "batch": batch,
                "exported_ms": exported * 1000,
                "python_ms": python * 1000,
                "ratio": exported / python,
                "exported_tokens_per_s": batch * new_tokens / exported,
                "python_tokens_per_s": batch * new_tokens / python,
                "new_tokens": new_tokens,
            })
        session.close()
    return results
