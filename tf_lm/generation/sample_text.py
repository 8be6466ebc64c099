"""A short sample from a model while it trains."""

from tf_lm.generation.text_generator import TextGenerator


def sample_text(model, tokenizer, prompt="\n", num_tokens=200, temperature=0.8, seed=0):
    """`num_tokens` tokens of temperature sampling after `prompt`."""
    generator = getattr(model, "_tf_lm_text_generator", None)
    if generator is None or generator.tokenizer is not tokenizer:
        generator = TextGenerator(model, tokenizer)
        model._tf_lm_text_generator = generator
    return generator.generate(prompt, num_tokens, sampler="temperature",
                              temperature=temperature, seed=seed, stop_token_ids=())
