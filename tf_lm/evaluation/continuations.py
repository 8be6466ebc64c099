"""BLEU and ROUGE of generated continuations against the split's own text (keras-hub metrics)."""

import numpy as np

from tf_lm.errors import InputError


def continuation_metrics(generator, tokens, num_samples=8, prompt_tokens=32,
                         continuation_tokens=32):
    """Greedy continuations of `num_samples` evenly spaced prompts from a split, scored
    against what really follows with keras-hub's `Bleu`, `RougeN(1)`, `RougeN(2)`, `RougeL`.

    Args:
        generator: a `TextGenerator`.
        tokens: the split as token ids.
        num_samples: prompts taken at evenly spaced positions.
        prompt_tokens, continuation_tokens: lengths of each prompt and continuation.
    """
    import keras_hub

    tokens = np.asarray(tokens)
    span = prompt_tokens + continuation_tokens
    if tokens.size < span:
        raise InputError(f"The split has {tokens.size} tokens; a continuation needs {span} "
                         f"({prompt_tokens} of prompt and {continuation_tokens} to compare).")
    starts = np.linspace(0, tokens.size - span, num_samples).astype(int)
    decode = generator.tokenizer.decode
    prompts = [decode(tokens[s:s + prompt_tokens]) for s in starts]
    references = [decode(tokens[s + prompt_tokens:s + span]) for s in starts]
    outputs = generator.generate(prompts, continuation_tokens, sampler="greedy",
                                 stop_token_ids=())
    metrics = {"bleu": keras_hub.metrics.Bleu(), "rouge1_f1": keras_hub.metrics.RougeN(1),
               "rouge2_f1": keras_hub.metrics.RougeN(2), "rougeL_f1": keras_hub.metrics.RougeL()}
    results = {}
    for name, metric in metrics.items():
        if name == "bleu":
            metric.update_state([[r] for r in references], outputs)
            results[name] = float(metric.result())
        else:
            metric.update_state(references, outputs)
            results[name] = float(metric.result()["f1_score"])
    results["samples"] = int(num_samples)
    return results
