"""Text in, text out: prompts → tokens → the decoding loop → text."""

import math

from tf_lm.config.export_config import ExportConfig
from tf_lm.errors import InputError
from tf_lm.generation.decoder import Decoder

SAMPLERS = ("greedy", "temperature", "top_k", "top_p", "beam")
DEFAULT_MAX_NEW_TOKENS_LIMIT = ExportConfig().max_new_tokens_limit


class TextGenerator:
    """Generate text with a `CausalLM` and its tokenizer.

    Prompt conventions (documented, and the same in the exported model):
    - an empty prompt starts from the tokenizer's end-of-text token when it has one (`<eos>`:
      byte tokenizer, word tokenizer in WikiText mode), else from a newline (char), else from
      the unknown token (a plain word tokenizer);
    - characters or words outside the vocabulary become the unknown token where the tokenizer
      has one; otherwise the prompt is refused with the characters named;
    - a prompt that does not fit the context with `max_new_tokens` keeps its last tokens, and a
      warning says how many were dropped;
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

    def __init__(self, model, tokenizer, max_new_tokens_limit=DEFAULT_MAX_NEW_TOKENS_LIMIT,
                 warn=None):
        self.model = model
        self.tokenizer = tokenizer
        self.decoder = Decoder(model)
        self.max_new_tokens_limit = max_new_tokens_limit
        self.warn = warn or (lambda message: None)

    def check(self, max_new_tokens=64, sampler="greedy", temperature=1.0, top_k=0, top_p=1.0,
              num_beams=1, repetition_penalty=1.0, length_penalty=1.0):
        """Refuse out-of-range arguments with a `ValueError` naming the argument."""
        if sampler not in SAMPLERS:
            raise InputError(f"`sampler` must be one of {', '.join(SAMPLERS)}. "
                             f"Received: sampler={sampler!r}")
        if not isinstance(max_new_tokens, int) or not \
                1 <= max_new_tokens <= self.max_new_tokens_limit:
            raise InputError(f"`max_new_tokens` must be an integer in [1, "
                             f"{self.max_new_tokens_limit}]. Received: "
                             f"max_new_tokens={max_new_tokens!r}")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                and temperature >= 0):
            raise InputError(f"`temperature` must be >= 0. Received: temperature={temperature!r}")
        if not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
            raise InputError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")
        if sampler == "top_k" and (not isinstance(top_k, int) or top_k < 1):
            raise InputError(f"`top_k` must be an integer >= 1. Received: top_k={top_k!r}")
        if not isinstance(top_k, int) or top_k < 0:
            raise InputError(f"`top_k` must be an integer >= 0. Received: top_k={top_k!r}")
        if not isinstance(num_beams, int) or num_beams < 1:
            raise InputError(f"`num_beams` must be an integer >= 1. Received: "
                             f"num_beams={num_beams!r}")
        if not (isinstance(repetition_penalty, (int, float)) and repetition_penalty >= 1):
            raise InputError(f"`repetition_penalty` must be >= 1. Received: "
                             f"repetition_penalty={repetition_penalty!r}")
        if not (isinstance(length_penalty, (int, float)) and math.isfinite(length_penalty)):
            raise InputError(f"`length_penalty` must be a number. Received: "
                             f"length_penalty={length_penalty!r}")

    def encode_prompt(self, prompt):
        """The ids of a prompt (see the class docstring for empty prompts)."""
        if not isinstance(prompt, str):
            raise InputError(f"A prompt must be a string. Received: {type(prompt).__name__}")
        ids = [int(i) for i in self.tokenizer.encode(prompt)] if prompt else []
        end = self.tokenizer.end_token_id
        if ids and end is not None and ids[-1] == end and not prompt.endswith("\n"):
            ids = ids[:-1]  # a prompt is continued, not ended (WikiText mode adds <eos>)
        if not ids:
            ids = [end] if end is not None else [int(i) for i in self.tokenizer.encode("\n")]
        if not ids and self.tokenizer.unknown_token_id is not None:
            ids = [self.tokenizer.unknown_token_id]
        if not ids:
            raise InputError(f"The prompt {prompt!r} has no tokens, and this tokenizer has no "
                             "end-of-text, newline or unknown token to start from; give a "
                             "prompt.")
        return ids

    def _options(self, sampler, temperature, top_k, top_p):
        """Decoder arguments for a sampler: greedy is temperature 0."""
        if sampler == "greedy":
            return {"temperature": 0.0, "top_k": 0, "top_p": 1.0}
        return {"temperature": float(temperature),
                "top_k": int(top_k) if sampler in ("top_k", "temperature", "top_p") else 0,
                "top_p": float(top_p) if sampler in ("top_p", "temperature", "top_k") else 1.0}

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

    def generate(self, prompts, max_new_tokens=64, sampler="greedy", temperature=1.0, top_k=0,
                 top_p=1.0, num_beams=1, length_penalty=1.0, repetition_penalty=1.0, seed=0,
                 stop_strings=(), stop_token_ids=None):
        """The continuation of each prompt (a list of strings; one string for a string)."""
        single = isinstance(prompts, str)
        prompts = [prompts] if single else list(prompts)
        if not prompts:
            raise InputError("`prompts` is empty.")
        self.check(max_new_tokens, sampler, temperature, top_k, top_p, num_beams,
                   repetition_penalty, length_penalty)
        ids = [self.encode_prompt(p) for p in prompts]
        self._warn_truncation(ids, max_new_tokens, beam=sampler == "beam")
        stop_ids = self._stop_ids(stop_token_ids)
        if sampler == "beam":
            from tf_lm.generation.beam_search import beam_search

            context = self.decoder.context
            if context is not None and max_new_tokens >= context:
                raise InputError(f"Beam search needs max_new_tokens below the context of "
                                 f"{context}. Received: max_new_tokens={max_new_tokens}")
            room = context - max_new_tokens if context is not None else None
            outputs = [beam_search(self.model, p[-room:] if room else p, max_new_tokens,
                                   num_beams, length_penalty, stop_ids) for p in ids]
        else:
            outputs = self.decoder.generate_ids(
                ids, max_new_tokens, repetition_penalty=repetition_penalty, seed=seed,
                stop_token_ids=stop_ids, **self._options(sampler, temperature, top_k, top_p))
        texts = [self._text(out, stop_strings, prompt_ids)
                 for out, prompt_ids in zip(outputs, ids)]
        return texts[0] if single else texts

    def stream(self, prompt, max_new_tokens=64, sampler="greedy", temperature=1.0, top_k=0,
               top_p=1.0, num_beams=1, length_penalty=1.0, repetition_penalty=1.0, seed=0,
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
            chunk = max(context // 2, 1)  # the chunks generate_ids slides by
        generated, text_so_far = [], ""
        while len(generated) < max_new_tokens:
            count = min(chunk, max_new_tokens - len(generated))
            new = self.decoder.generate_ids(
                [ids + generated], count, repetition_penalty=repetition_penalty, seed=seed,
                stop_token_ids=stop_ids, first_step=len(generated),
                **self._options(sampler, temperature, top_k, top_p))[0]
            generated += new
            text = self._text(generated, stop_strings, ids)
            if len(text) > len(text_so_far):
                yield text[len(text_so_far):]
                text_so_far = text
            stopped = (len(new) < count or (new and new[-1] in stop_ids)
                       or len(text) < len(self._text(generated, (), ids)))
            if stopped:
                return

    def _stop_ids(self, stop_token_ids):
        if stop_token_ids is None:
            end = self.tokenizer.end_token_id
            return [end] if end is not None else []
        return [int(i) for i in stop_token_ids]

    def _text(self, ids, stop_strings, prompt_ids=()):
        """The text of `ids` as it continues the prompt: decoded together with the prompt and
        cut after it, so word tokenizers put the space between prompt and continuation."""
        text = self.tokenizer.decode(ids)
        if prompt_ids and ids:
            head = self.tokenizer.decode(list(prompt_ids))
            full = self.tokenizer.decode(list(prompt_ids) + list(ids))
            if full.startswith(head):
                text = full[len(head):]
        for stop in stop_strings:
            if stop and stop in text:
                text = text[:text.index(stop)]
        return text
