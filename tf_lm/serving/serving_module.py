"""The graph TF Serving runs: text in, text out, every request parameter a tensor."""

import types

import tensorflow as tf

from tf_lm.config.decoding import MAX_INPUT_TOKENS
from tf_lm.errors import InputError
from tf_lm.evaluation.scoring import carried_log_likelihood, windowed_log_likelihood
from tf_lm.generation.decoder import Decoder
from tf_lm.generation.parameter_rules import (DEFAULT_MAX_NEW_TOKENS, GREEDY_TEMPERATURE,
                                              MAX_NEW_TOKENS_LIMIT, REPETITION_PENALTY_OFF,
                                              TOP_K_OFF, TOP_P_OFF, check_argument, per_row)
from tf_lm.generation.prompt_rules import (NO_START, continuation_text, prompt_ids, start_ids,
                                           start_rows)

# Request-time defaults of `serving_default` (documented in export/README.md): sampling off.
DEFAULT_TEMPERATURE = GREEDY_TEMPERATURE
DEFAULT_TOP_K = TOP_K_OFF
DEFAULT_TOP_P = TOP_P_OFF
DEFAULT_REPETITION_PENALTY = REPETITION_PENALTY_OFF
DEFAULT_SEED = 0
SCORE_CHUNK = 256  # tokens per step when a model without a context scores a text


class ServingModule(tf.Module):
    """A `CausalLM` and its tokenizer as the three signatures of the exported SavedModel.

    - `serving_default`: `prompts` (string, `[batch]`) and optional `max_new_tokens`,
      `temperature`, `top_k`, `top_p`, `repetition_penalty`, `seed` → `text` (the
      continuation, valid UTF-8) and `num_tokens`. Each parameter is a scalar, `[1]` or one
      value per prompt; an omitted one takes its default (the signature's `defaults`, a
      `PlaceholderWithDefault` in the graph). Rows are independent: a row's text depends on
      its prompt and parameters only, never on the rest of the batch, so TF Serving's request
      batching cannot change a result. The prompt conventions, the continuation text, the
      parameter ranges (`tf_lm.generation.prompt_rules`, `parameter_rules`) and the decoding
      loop are `TextGenerator`'s, so greedy text equals `tf-lm generate --sampler greedy`.
    - `score`: `texts` → `log_likelihood` (natural log, the sum over the text's tokens, each
      given the start token and the text before it), `num_tokens`, `perplexity`. Texts longer
      than a GPT's context are read in windows of `context` moved by context/2, as
      `tf-lm evaluate` does (`tf_lm.evaluation.scoring`).
    - `next_token_logits`: `token_ids` (`[batch, seq]`, rows of equal length, at most the
      context) → `logits` (`[batch, vocabulary]`) of the token after each row.

    Bad requests fail with `InvalidArgumentError` naming the input: parameters out of range,
    prompts that are not UTF-8, inputs longer than `max_input_tokens`.

    Args:
        model: a built `CausalLM`.
        tokenizer: its `tf_lm.tokenizers.Tokenizer`.
        max_new_tokens_limit: the largest `max_new_tokens` a request may ask.
        default_max_new_tokens: `max_new_tokens` when a request omits it.
        max_input_tokens: the longest prompt or scored text, in tokens.
    """

    def __init__(self, model, tokenizer, max_new_tokens_limit=MAX_NEW_TOKENS_LIMIT,
                 default_max_new_tokens=DEFAULT_MAX_NEW_TOKENS, max_input_tokens=MAX_INPUT_TOKENS):
        super().__init__(name="tf_lm_serving")
        check_argument("default_max_new_tokens", default_max_new_tokens, max_new_tokens_limit,
                       rule="max_new_tokens")
        start = start_ids(tokenizer)
        if not start:
            raise InputError(f"An empty prompt and a scored text start from a token, and "
                             f"{NO_START}.")
        # Not tracked: a Keras variable saves as a second `tf.Variable` beside the one the
        # functions read, and a TF1 Session (TF Serving) restores only the second. The plain
        # variables are tracked instead, so the saver restores the ones the graph reads.
        self._untracked = types.SimpleNamespace(model=model,
                                                decoder=Decoder(model, jit_compile=False))
        self.model_variables = [variable.value for variable in model.variables]
        self.tokenizer = tokenizer  # its lookup tables and vocabulary asset
        self.context = self.decoder.context
        self.max_new_tokens_limit = int(max_new_tokens_limit)
        self.default_max_new_tokens = int(default_max_new_tokens)
        self.max_input_tokens = int(max_input_tokens)
        self.vocabulary_size = int(model.vocabulary_size)
        self.start_ids = start
        end = tokenizer.end_token_id
        self.stop_ids = [end] if end is not None else []
        self.serving_default = tf.function(self._serving_default_function(), input_signature=[
            tf.TensorSpec([None], tf.string, name="prompts"),
            tf.TensorSpec(None, tf.int32, name="max_new_tokens"),
            tf.TensorSpec(None, tf.float32, name="temperature"),
            tf.TensorSpec(None, tf.int32, name="top_k"),
            tf.TensorSpec(None, tf.float32, name="top_p"),
            tf.TensorSpec(None, tf.float32, name="repetition_penalty"),
            tf.TensorSpec(None, tf.int32, name="seed"),
        ])
        self.score = tf.function(self._score, input_signature=[
            tf.TensorSpec([None], tf.string, name="texts")])
        self.next_token_logits = tf.function(self._next_token_logits, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="token_ids")])

    @property
    def model(self):
        return self._untracked.model

    @property
    def decoder(self):
        return self._untracked.decoder

    def signatures(self):
        """The signature map for `tf.saved_model.save` (the `tf.function`s themselves, so the
        tensor defaults of `serving_default` become `SignatureDef.defaults`)."""
        return {"serving_default": self.serving_default, "score": self.score,
                "next_token_logits": self.next_token_logits}

    @property
    def defaults(self):
        """The value of each optional `serving_default` input a request leaves out."""
        return {"max_new_tokens": self.default_max_new_tokens,
                "temperature": DEFAULT_TEMPERATURE, "top_k": DEFAULT_TOP_K,
                "top_p": DEFAULT_TOP_P, "repetition_penalty": DEFAULT_REPETITION_PENALTY,
                "seed": DEFAULT_SEED}

    # serving_default ----------------------------------------------------------------------

    def _serving_default_function(self):
        """The signature's Python function; its tensor defaults become the signature's."""
        d = self.defaults

        def serving_default(prompts,
                            max_new_tokens=tf.constant(d["max_new_tokens"], tf.int32),
                            temperature=tf.constant(d["temperature"], tf.float32),
                            top_k=tf.constant(d["top_k"], tf.int32),
                            top_p=tf.constant(d["top_p"], tf.float32),
                            repetition_penalty=tf.constant(d["repetition_penalty"], tf.float32),
                            seed=tf.constant(d["seed"], tf.int32)):
            return self._generate(prompts, max_new_tokens, temperature, top_k, top_p,
                                  repetition_penalty, seed)

        return serving_default

    def _generate(self, prompts, max_new_tokens, temperature, top_k, top_p,
                  repetition_penalty, seed):
        batch = tf.shape(prompts)[0]
        # Checked and one per row, in the order `Decoder.decode` takes them.
        parameters = {name: per_row(name, value, batch, self.max_new_tokens_limit)
                      for name, value in (("max_new_tokens", max_new_tokens),
                                          ("temperature", temperature), ("top_k", top_k),
                                          ("top_p", top_p),
                                          ("repetition_penalty", repetition_penalty),
                                          ("seed", seed))}
        ids = self._prompt_ids(prompts)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        with tf.control_dependencies(list(parameters.values())):
            output_length = tf.reduce_max(tf.concat([parameters["max_new_tokens"], [1]], axis=0))
        tokens, counts = self.decoder.decode(
            ids.to_tensor(), lengths, *parameters.values(),
            tf.constant(self.stop_ids, tf.int32, [len(self.stop_ids)]),
            tf.zeros([batch], tf.int32), output_length)
        new = tf.RaggedTensor.from_tensor(tokens, lengths=counts)
        return {"text": continuation_text(self.tokenizer, ids, new), "num_tokens": counts}

    def _prompt_ids(self, prompts):
        """Token ids of each prompt: `prompt_rules.prompt_ids`, as `TextGenerator` runs it."""
        ids = prompt_ids(self.tokenizer, check_utf8("prompts", prompts), self.start_ids)
        return self._checked_length("prompts", ids)

    def _checked_length(self, name, ids):
        """`ids`, available only once every row is known to be at most `max_input_tokens`
        long (nothing of the size of a long input is allocated before the check)."""
        lengths = ids.row_lengths()
        check = tf.debugging.Assert(
            tf.reduce_all(lengths <= self.max_input_tokens),
            [f"{name} may have at most {self.max_input_tokens} tokens each. Received tokens "
             "per row:", lengths], summarize=16)
        with tf.control_dependencies([check]):
            return tf.RaggedTensor.from_row_splits(tf.identity(ids.flat_values),
                                                   tf.identity(ids.row_splits))

    # score --------------------------------------------------------------------------------

    def _score(self, texts):
        texts = check_utf8("texts", texts)
        ids = self._checked_length("texts", tf.cast(self.tokenizer.tokenize(texts), tf.int32))
        num_tokens = tf.cast(ids.row_lengths(), tf.int32)
        check = tf.debugging.Assert(
            tf.reduce_all(num_tokens > 0),
            ["texts must not be empty (no tokens to score). Empty rows:",
             tf.where(num_tokens == 0)], summarize=16)
        with tf.control_dependencies([check]):
            batch = tf.shape(texts)[0]
        sequence = tf.concat([start_rows(self.start_ids, batch), ids], axis=1)
        lengths = tf.cast(sequence.row_lengths(), tf.int32)  # targets: positions 1 .. n-1
        tokens = sequence.to_tensor()
        if self.context is None:
            log_likelihood = tf.cast(
                carried_log_likelihood(self.model, tokens, lengths, SCORE_CHUNK), tf.float32)
        else:
            log_likelihood = windowed_log_likelihood(self.model, tokens, lengths, self.context)
        scored = lengths - 1
        perplexity = tf.exp(-log_likelihood / tf.cast(scored, tf.float32))
        return {"log_likelihood": log_likelihood, "num_tokens": scored,
                "perplexity": perplexity}

    # next_token_logits ----------------------------------------------------------------------

    def _next_token_logits(self, token_ids):
        length = tf.shape(token_ids)[1]
        limit = self.context if self.context is not None else self.max_input_tokens
        checks = [
            tf.debugging.Assert(
                (length >= 1) & (length <= limit),
                [f"token_ids must have between 1 and {limit} tokens per row. Received:",
                 length]),
            tf.debugging.Assert(
                tf.reduce_all((token_ids >= 0) & (token_ids < self.vocabulary_size)),
                [f"token_ids must be in [0, {self.vocabulary_size}). Received ids out of "
                 "range at:", tf.where((token_ids < 0) | (token_ids >= self.vocabulary_size))],
                summarize=16),
        ]
        with tf.control_dependencies(checks):
            token_ids = tf.identity(token_ids)
        logits = self.model.logits(self.model.backbone(token_ids, training=False))
        return {"logits": tf.cast(logits[:, -1, :], tf.float32)}


def check_utf8(name, strings):
    valid = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace",
                                         replacement_char=0xFFFD) == strings
    check = tf.debugging.Assert(
        tf.reduce_all(valid), [f"{name} must be UTF-8 text. Rows that are not:",
                               tf.where(~valid)], summarize=16)
    with tf.control_dependencies([check]):
        return tf.identity(strings)
