"""The graph TF Serving runs: text in, text out, every request parameter a tensor."""

import types

import tensorflow as tf

from tf_lm.generation.decoder import Decoder

# Request-time defaults of `serving_default` (documented in export/README.md).
DEFAULT_TEMPERATURE = 0.0  # greedy
DEFAULT_TOP_K = 0  # off
DEFAULT_TOP_P = 1.0  # off
DEFAULT_REPETITION_PENALTY = 1.0  # off
DEFAULT_SEED = 0


class ServingModule(tf.Module):
    """A `CausalLM` and its tokenizer as the three signatures of the exported SavedModel.

    - `serving_default`: `prompts` (string, `[batch]`) and optional `max_new_tokens`,
      `temperature`, `top_k`, `top_p`, `repetition_penalty`, `seed` → `text` (the
      continuation, valid UTF-8) and `num_tokens`. Each parameter is a scalar, `[1]` or one
      value per prompt; an omitted one takes its default (the signature's `defaults`, a
      `PlaceholderWithDefault` in the graph). Rows are independent: a row's text depends on
      its prompt and parameters only, never on the rest of the batch, so TF Serving's request
      batching cannot change a result. The prompt conventions and the decoding loop are
      `TextGenerator`'s, so greedy text equals `tf-lm generate --sampler greedy`.
    - `score`: `texts` → `log_likelihood` (natural log, the sum over the text's tokens, each
      given the start token and the text before it), `num_tokens`, `perplexity`. Texts longer
      than a GPT's context are read in windows of `context` moved by context/2, as
      `tf-lm evaluate` does.
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

    def __init__(self, model, tokenizer, max_new_tokens_limit=1024, default_max_new_tokens=64,
                 max_input_tokens=8192):
        super().__init__(name="tf_lm_serving")
        from tf_lm.generation.text_generator import TextGenerator

        if not 1 <= default_max_new_tokens <= max_new_tokens_limit:
            raise ValueError(f"`default_max_new_tokens` must be in [1, max_new_tokens_limit="
                             f"{max_new_tokens_limit}]. Received: {default_max_new_tokens}")
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
        self.start_ids = TextGenerator(model, tokenizer).encode_prompt("")
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
        limit = self.max_new_tokens_limit
        max_new_tokens = _parameter(
            "max_new_tokens", max_new_tokens, batch,
            lambda v: (v >= 1) & (v <= limit), f"an integer in [1, {limit}]")
        temperature = _parameter("temperature", temperature, batch,
                                 lambda v: tf.math.is_finite(v) & (v >= 0), "finite and >= 0")
        top_k = _parameter("top_k", top_k, batch, lambda v: v >= 0, "an integer >= 0")
        top_p = _parameter("top_p", top_p, batch, lambda v: (v > 0) & (v <= 1), "in (0, 1]")
        repetition_penalty = _parameter(
            "repetition_penalty", repetition_penalty, batch,
            lambda v: tf.math.is_finite(v) & (v >= 1), "finite and >= 1")
        seed = _parameter("seed", seed, batch, lambda v: tf.ones_like(v, tf.bool), "")
        ids = self._prompt_ids(prompts)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        with tf.control_dependencies([max_new_tokens, temperature, top_k, top_p,
                                      repetition_penalty, seed]):
            output_length = tf.reduce_max(tf.concat([max_new_tokens, [1]], axis=0))
        tokens, counts = self.decoder.decode(
            ids.to_tensor(), lengths, max_new_tokens, temperature, top_k, top_p,
            repetition_penalty, seed, tf.constant(self.stop_ids, tf.int32, [len(self.stop_ids)]),
            tf.zeros([batch], tf.int32), output_length)
        new = tf.RaggedTensor.from_tensor(tokens, lengths=counts)
        return {"text": self._continuation_text(ids, new), "num_tokens": counts}

    def _prompt_ids(self, prompts):
        """Token ids of each prompt with `TextGenerator.encode_prompt`'s conventions."""
        prompts = _check_utf8("prompts", prompts)
        ids = tf.cast(self.tokenizer.tokenize(prompts), tf.int32)
        end = self.tokenizer.end_token_id
        if end is not None:  # a prompt is continued, not ended (WikiText mode adds <eos>)
            padded = tf.concat([ids.flat_values, [-1]], axis=0)  # an empty row reads -1
            last = tf.gather(padded, tf.where(ids.row_lengths() > 0, ids.row_limits() - 1,
                                              tf.size(ids.flat_values, tf.int64)))
            ended = ((ids.row_lengths() > 0) & (last == end)
                     & ~tf.strings.regex_full_match(prompts, "(?s).*\n"))
            ids = tf.ragged.boolean_mask(ids, ~(ended[:, None] & _is_last(ids)))
        empty = ids.row_lengths() == 0
        start = tf.RaggedTensor.from_tensor(
            tf.tile(tf.constant([self.start_ids], tf.int32), [tf.shape(prompts)[0], 1]))
        ids = _ragged_where(empty, start, ids)
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

    def _continuation_text(self, prompt_ids, new_ids):
        """The text of `new_ids` as it continues the prompt (word tokenizers put the space
        between them), valid UTF-8 (a byte model may stop inside a character)."""
        head = self._detokenize(prompt_ids)
        full = self._detokenize(tf.concat([prompt_ids, new_ids], axis=1))
        alone = self._detokenize(new_ids)
        head_length = tf.strings.length(head)
        continues = tf.strings.substr(full, tf.zeros_like(head_length), head_length) == head
        rest = tf.strings.substr(full, head_length, tf.strings.length(full) - head_length)
        text = tf.where(continues & (new_ids.row_lengths() > 0), rest, alone)
        return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                            replacement_char=0xFFFD)

    def _detokenize(self, ids):
        return tf.reshape(self.tokenizer.detokenize(ids), [-1])

    # score --------------------------------------------------------------------------------

    def _score(self, texts):
        texts = _check_utf8("texts", texts)
        ids = self._checked_length("texts", tf.cast(self.tokenizer.tokenize(texts), tf.int32))
        num_tokens = tf.cast(ids.row_lengths(), tf.int32)
        check = tf.debugging.Assert(
            tf.reduce_all(num_tokens > 0),
            ["texts must not be empty (no tokens to score). Empty rows:",
             tf.where(num_tokens == 0)], summarize=16)
        with tf.control_dependencies([check]):
            batch = tf.shape(texts)[0]
        start = tf.RaggedTensor.from_tensor(
            tf.tile(tf.constant([self.start_ids], tf.int32), [batch, 1]))
        sequence = tf.concat([start, ids], axis=1)
        lengths = tf.cast(sequence.row_lengths(), tf.int32)  # targets: positions 1 .. n-1
        tokens = sequence.to_tensor()
        log_likelihood = self._window_log_likelihood(tokens, lengths)
        scored = lengths - 1
        perplexity = tf.exp(-log_likelihood / tf.cast(scored, tf.float32))
        return {"log_likelihood": log_likelihood, "num_tokens": scored,
                "perplexity": perplexity}

    def _window_log_likelihood(self, tokens, lengths):
        """Σ log P(token_t | tokens_<t) for t = 1 .. length-1 of each row.

        Windows as `tf_lm.evaluation.perplexity`: start k·stride (the last one moved back to
        end at the text's end), each scoring the targets the previous windows did not.
        """
        if self.context is None:
            return self._carried_log_likelihood(tokens, lengths)
        batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
        context = tf.maximum(tf.minimum(self.context, width - 1), 1)
        stride = tf.maximum(context // 2, 1)
        last = lengths - 1  # the last target of each row

        def condition(k, scored_until, total):
            return tf.reduce_any(scored_until < last)

        def body(k, scored_until, total):
            start = tf.minimum(k * stride, tf.maximum(last - context, 0))  # (batch,)
            positions = start[:, None] + tf.range(context)[None, :]
            inputs = tf.gather(tokens, tf.minimum(positions, width - 1), batch_dims=1)
            targets = tf.gather(tokens, tf.minimum(positions + 1, width - 1), batch_dims=1)
            logits = self.model.logits(self.model.backbone(inputs, training=False))
            log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
            picked = tf.gather(log_probs, targets, batch_dims=2)  # (batch, context)
            target_index = positions + 1
            new = (target_index > scored_until[:, None]) & (target_index <= last[:, None])
            total += tf.reduce_sum(tf.where(new, picked, 0.0), axis=1)
            scored_until = tf.maximum(scored_until, tf.minimum(start + context, last))
            return k + 1, scored_until, total

        _, _, total = tf.while_loop(condition, body, (tf.constant(0), tf.zeros([batch], tf.int32),
                                                      tf.zeros([batch], tf.float32)))
        return total

    def _carried_log_likelihood(self, tokens, lengths, chunk=256):
        """The same sum for a model without a context (RNN, sinusoidal GPT): chunks of
        `chunk` tokens through `call_with_cache`, the state or KV cache carried, so memory
        grows with the chunk, not with the text (logits are `(batch, chunk, vocab)`)."""
        batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
        inputs_width = width - 1  # inputs 0 .. n-2 predict targets 1 .. n-1
        cache = self.model.initial_cache(batch, inputs_width)
        last = lengths - 1

        def condition(start, cache, total):
            return start < inputs_width

        def body(start, cache, total):
            size = tf.minimum(chunk, inputs_width - start)
            positions = start + tf.range(size)
            inputs = tf.gather(tokens, positions, axis=1)
            targets = tf.gather(tokens, positions + 1, axis=1)
            logits, cache = self.model.call_with_cache(inputs, cache, start)
            log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
            picked = tf.gather(log_probs, targets, batch_dims=2)  # (batch, size)
            scored = (positions + 1)[None, :] <= last[:, None]
            return start + size, cache, total + tf.reduce_sum(tf.where(scored, picked, 0.0), 1)

        _, _, total = tf.while_loop(
            condition, body, (tf.constant(0), cache, tf.zeros([batch], tf.float32)))
        return total

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


def _parameter(name, value, batch, valid, expected):
    """A request parameter as `(batch,)`: one value for every row, or one per row; checked."""
    flat = tf.reshape(value, [-1])
    size = tf.size(flat)
    shape_ok = tf.debugging.Assert(
        (size == 1) | (size == batch),
        [f"{name} must be one value or one per prompt. Received values, prompts:", size, batch])
    checks = [shape_ok]
    if expected:
        checks.append(tf.debugging.Assert(
            tf.reduce_all(valid(flat)), [f"{name} must be {expected}. Received:", flat],
            summarize=16))
    with tf.control_dependencies(checks):
        return tf.broadcast_to(flat, [batch])


def _check_utf8(name, strings):
    valid = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace",
                                         replacement_char=0xFFFD) == strings
    check = tf.debugging.Assert(
        tf.reduce_all(valid), [f"{name} must be UTF-8 text. Rows that are not:",
                               tf.where(~valid)], summarize=16)
    with tf.control_dependencies([check]):
        return tf.identity(strings)


def _is_last(ids):
    """A ragged bool, True at the last token of each row."""
    positions = tf.ragged.range(ids.row_lengths())
    return positions == tf.expand_dims(ids.row_lengths() - 1, 1)


def _ragged_where(condition, when_true, when_false):
    """Row i of `when_true` where `condition[i]`, else row i of `when_false` (ragged rows)."""
    rows = tf.range(tf.shape(condition)[0])
    chosen = tf.where(condition, rows + tf.shape(condition)[0], rows)
    return tf.gather(tf.concat([when_false, when_true], axis=0), chosen)
