"""Text in, text out: prompts → tokens → the decoding loop → text."""

import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.generation.beam_search import beam_search
from tf_lm.generation.decoder import Decoder
from tf_lm.generation.parameter_rules import (DEFAULT_MAX_NEW_TOKENS,
                                              MAX_NEW_TOKENS_LIMIT, REPETITION_PENALTY_OFF,
                                              SAMPLERS, TOP_K_OFF, TOP_P_OFF, check_arguments,
                                              sampler_options)
from tf_lm.generation.prompt_rules import NO_START, continuation_text, prompt_ids, start_ids

__all__ = ["SAMPLERS", "TextGenerator"]


class TextGenerator:
    """Generate text with a `CausalLM` and its tokenizer.

    Prompt conventions (`tf_lm.generation.prompt_rules`, the ops the exported model runs):
    - an empty prompt starts from the tokenizer's end-of-text token when it has one, else from
      a newline, else from the unknown token;
    - characters or words outside the vocabulary become the unknown token where the tokenizer
      has one; otherwise the prompt is refused with the characters named;
    - a prompt that does not fit the context with `max_new_tokens` keeps its last tokens, and a
      warning says how many were dropped;
    - the text continues the prompt (decoded after it: a word tokenizer's space is kept);
    - stop strings are matched on the text; the text is cut before the first one.

    Samplers: `greedy`; `temperature` (softmax(logits / T)); `top_k`; `top_p` (nucleus);
    `beam` (width `num_beams`, scores divided by length**length_penalty); a repetition
    penalty applies to all but beam search.

    Args:
        model: a built `CausalLM`.
        tokenizer: its `tf_lm.tokenizers.Tokenizer`.
        max_new_tokens_limit: the largest `max_new_tokens` accepted.
        warn: where truncation warnings go (`print` to stderr by the CLI).
    """

    def __init__(self, model, tokenizer, max_new_tokens_limit=MAX_NEW_TOKENS_LIMIT, warn=None):
        self.model = model
        self.tokenizer = tokenizer
        self.decoder = Decoder(model)
        self.max_new_tokens_limit = max_new_tokens_limit
        self.warn = warn or (lambda message: None)
        self.start_ids = start_ids(tokenizer)

    def check(self, max_new_tokens=DEFAULT_MAX_NEW_TOKENS, sampler="greedy", temperature=1.0,
              top_k=TOP_K_OFF, top_p=TOP_P_OFF, num_beams=1,
              repetition_penalty=REPETITION_PENALTY_OFF, length_penalty=1.0):
        """Refuse out-of-range arguments with an `InputError` naming the argument (the ranges
        of `tf_lm.generation.parameter_rules`, which the exported model checks too)."""
        check_arguments(self.max_new_tokens_limit, max_new_tokens, sampler, temperature, top_k,
                        top_p, num_beams, repetition_penalty, length_penalty)

    def encode_prompt(self, prompt):
        """The ids of a prompt (see the class docstring for empty prompts)."""
        return self.encode_prompts([prompt])[0]

    def encode_prompts(self, prompts):
        """The ids of each prompt: `prompt_rules.prompt_ids`, the exported model's ops, eagerly."""
        for prompt in prompts:
            if not isinstance(prompt, str):
                raise InputError(f"A prompt must be a string. Received: {type(prompt).__name__}")
        ids = prompt_ids(self.tokenizer, tf.constant(prompts, tf.string, [len(prompts)]),
                         self.start_ids).to_list()
        for prompt, row in zip(prompts, ids):
            if not row:
                raise InputError(f"The prompt {prompt!r} has no tokens, and {NO_START}; give a "
                                 "prompt.")
        return ids

    def _warn_truncation(self, prompts_ids, max_new_tokens, beam=False):
        context = self.decoder.context
        if beam and context is not None:  # beam search keeps context - max_new_tokens tokens
            dropped = max(max(len(p) - (context - max_new_tokens), 0) for p in prompts_ids)
        else:
            dropped = max(self.decoder.dropped_prompt_tokens(len(p), max_new_tokens)
                          for p in prompts_ids)
        if dropped:
            self.warn(f"warning: a prompt is longer than the model's context of "
                      f"{self.decoder.context} tokens allows; its first {dropped} tokens were "
                      "not seen")

    def generate(self, prompts, max_new_tokens=DEFAULT_MAX_NEW_TOKENS, sampler="greedy",
                 temperature=1.0, top_k=TOP_K_OFF, top_p=TOP_P_OFF, num_beams=1,
                 length_penalty=1.0, repetition_penalty=REPETITION_PENALTY_OFF, seed=0,
                 stop_strings=(), stop_token_ids=None):
        """The continuation of each prompt (a list of strings; one string for a string).

        `stop_token_ids=None` stops at the tokenizer's end-of-text token; `()` never stops.
        """
        single = isinstance(prompts, str)
        prompts = [prompts] if single else list(prompts)
        if not prompts:
            raise InputError("`prompts` is empty.")
        self.check(max_new_tokens, sampler, temperature, top_k, top_p, num_beams,
                   repetition_penalty, length_penalty)
        ids = self.encode_prompts(prompts)
        self._warn_truncation(ids, max_new_tokens, beam=sampler == "beam")
        stop_ids = self._stop_ids(stop_token_ids)
        if sampler == "beam":
            context = self.decoder.context
            if context is not None and max_new_tokens >= context:
                raise InputError(f"Beam search needs max_new_tokens below the context of "
                                 f"{context}. Received: max_new_tokens={max_new_tokens}")
            room = context - max_new_tokens if context is not None else None
            outputs = [beam_search(self.model, p[-room:] if room is not None else p,
                                   max_new_tokens, num_beams, length_penalty, stop_ids)
                       for p in ids]
        else:
            outputs = self.decoder.generate_ids(
                ids, max_new_tokens, repetition_penalty=repetition_penalty, seed=seed,
                stop_token_ids=stop_ids, **sampler_options(sampler, temperature, top_k, top_p))
        texts = [_cut(self._text(prompt_ids, out), stop_strings)
                 for out, prompt_ids in zip(outputs, ids)]
        return texts[0] if single else texts

    def stream(self, prompt, max_new_tokens=DEFAULT_MAX_NEW_TOKENS, sampler="greedy",
               temperature=1.0, top_k=TOP_K_OFF, top_p=TOP_P_OFF, num_beams=1,
               length_penalty=1.0, repetition_penalty=REPETITION_PENALTY_OFF, seed=0,
               stop_strings=(), stop_token_ids=None, chunk=8):
        """Yield the continuation of one prompt piece by piece as it is generated.

        Decodes `chunk` tokens per call of the same compiled loop, continuing the step count;
        past a GPT's context it moves in the chunks `generate` slides by. So the text equals
        `generate`'s (up to float rounding at near-ties of a GPT's logits). Beam search yields
        its whole result at once.
        """
        self.check(max_new_tokens, sampler, temperature, top_k, top_p, num_beams,
                   repetition_penalty, length_penalty)
        if sampler == "beam":
            yield self.generate(prompt, max_new_tokens, sampler="beam", num_beams=num_beams,
                                length_penalty=length_penalty, stop_strings=stop_strings,
                                stop_token_ids=stop_token_ids)
            return
        ids = self.encode_prompt(prompt)
        self._warn_truncation([ids], max_new_tokens)
        stop_ids = self._stop_ids(stop_token_ids)
        context = self.decoder.context
        if context is not None and len(ids) + max_new_tokens > context:
            chunk = self.decoder.slide  # the chunks generate_ids slides by
        generated, text_so_far = [], ""
        while len(generated) < max_new_tokens:
            count = min(chunk, max_new_tokens - len(generated))
            new = self.decoder.generate_ids(
                [ids + generated], count, repetition_penalty=repetition_penalty, seed=seed,
                stop_token_ids=stop_ids, first_step=len(generated),
                **sampler_options(sampler, temperature, top_k, top_p))[0]
            generated += new
            full = self._text(ids, generated)
            text = _cut(full, stop_strings)
            if len(text) > len(text_so_far):
                yield text[len(text_so_far):]
                text_so_far = text
            if len(new) < count or (new and new[-1] in stop_ids) or len(text) < len(full):
                return

    def _stop_ids(self, stop_token_ids):
        if stop_token_ids is None:
            end = self.tokenizer.end_token_id
            return [end] if end is not None else []
        return [int(i) for i in stop_token_ids]

    def _text(self, prompt_ids, new_ids):
        """The text of `new_ids` as it continues the prompt: `prompt_rules.continuation_text`,
        the exported model's ops, run eagerly on one row."""
        rows = [tf.RaggedTensor.from_row_lengths(tf.constant(ids, tf.int32, [len(ids)]),
                                                 [len(ids)])
                for ids in (list(prompt_ids), list(new_ids))]
        return continuation_text(self.tokenizer, *rows).numpy()[0].decode("utf-8")


def _cut(text, stop_strings):
    """`text` up to the first of `stop_strings` it holds."""
    for stop in stop_strings:
        if stop and stop in text:
            text = text[:text.index(stop)]
    return text
