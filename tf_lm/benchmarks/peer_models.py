"""keras-hub's GPT-2 built to the configuration of a tf_lm GPT: the peer of the benchmarks."""

import keras


def keras_hub_gpt2(model_config, vocabulary_size, sequence_length):
    """`(GPT2Backbone, a functional LM over it)`: token ids → tied logits.

    Same vocabulary, layers, heads, width, feed-forward width, dropout and context as
    `model_config`. keras-hub's GPT-2 always has biases and LayerNorm centers, so it has a
    few more parameters when the tf_lm model has `use_bias=False`.
    """
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size, num_layers=model_config.num_layers,
        num_heads=model_config.num_heads, hidden_dim=model_config.hidden_dim,
        intermediate_dim=model_config.intermediate_dim or 4 * model_config.hidden_dim,
        dropout=model_config.dropout, max_sequence_length=sequence_length)
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.ops.ones_like(token_ids, dtype="bool")
    hidden = backbone({"token_ids": token_ids, "padding_mask": padding_mask})
    logits = backbone.token_embedding(hidden, reverse=True)
    return backbone, keras.Model(token_ids, logits, name="keras_hub_gpt2_lm")


def keras_lstm_lm(model_config, vocabulary_size):
    """The classic Keras example's model at a tf_lm recurrent config's size: `Embedding →
    LSTM(return_sequences) × layers → Dense(vocabulary)` logits, in a `keras.Sequential`."""
    embedding_dim = model_config.embedding_dim or model_config.hidden_dim
    layers = [keras.Input((None,), dtype="int32"),
              keras.layers.Embedding(vocabulary_size, embedding_dim)]
    layers += [keras.layers.LSTM(model_config.hidden_dim, return_sequences=True)
               for _ in range(model_config.num_layers)]
    layers.append(keras.layers.Dense(vocabulary_size))
    return keras.Sequential(layers, name="keras_lstm_lm")
