"""Building the model a `Config` describes."""

import logging

import keras

from tf_lm.models.causal_lm import CausalLM
from tf_lm.models.gpt_backbone import GPTBackbone
from tf_lm.models.recurrent_backbone import RecurrentBackbone
from tf_lm.models.sentence_vae import SentenceVAE
from tf_lm.models.text_classifier import TextClassifier

logger = logging.getLogger("tf_lm")


def build_backbone(model_config, vocabulary_size, sequence_length, dtype=None, stateful=False,
                   batch_size=None, name=None):
    """The backbone of `model_config` (a `ModelConfig`), unbuilt."""
    if model_config.architecture == "gpt":
        if model_config.embedding_dim not in (0, model_config.hidden_dim):
            raise ValueError(
                "A gpt model embeds tokens at its hidden width. Received: model.embedding_dim="
                f"{model_config.embedding_dim}, model.hidden_dim={model_config.hidden_dim}")
        return GPTBackbone(
            vocabulary_size, model_config.num_layers, model_config.num_heads,
            model_config.hidden_dim, intermediate_dim=model_config.intermediate_dim or None,
            sequence_length=sequence_length, dropout=model_config.dropout,
            use_bias=model_config.use_bias, position_encoding=model_config.position_encoding,
            norm_position=model_config.norm_position, activation=model_config.activation,
            layer_norm_epsilon=model_config.layer_norm_epsilon, dtype=dtype,
            name=name or "gpt_backbone")
    return RecurrentBackbone(
        vocabulary_size, cell=model_config.architecture, num_layers=model_config.num_layers,
        hidden_dim=model_config.hidden_dim, embedding_dim=model_config.embedding_dim or None,
        dropout=model_config.dropout, init_scale=model_config.init_scale, stateful=stateful,
        recurrent_init_scale=(model_config.hidden_dim ** -0.5
                              if model_config.recurrent_init == "pytorch" else 0.0),
        batch_size=batch_size, dtype=dtype, name=name or f"{model_config.architecture}_backbone")


def build_causal_lm(model_config, vocabulary_size, sequence_length, dtype=None, stateful=False,
                    batch_size=None, vocabulary=None):
    """A built `CausalLM` for `model_config`, ready to `compile`.

    Args:
        model_config: a `ModelConfig`.
        vocabulary_size: the tokenizer's vocabulary size.
        sequence_length: the context (`data.block_size`): the learned position table's size.
        dtype: a Keras dtype policy name (`"mixed_bfloat16"`, ...), or `None` for the global one.
        stateful, batch_size: stateful recurrent training on contiguous batches.
        vocabulary: the tokenizer's words in id order, needed with `model.word_vectors`.
    """
    backbone = build_backbone(model_config, vocabulary_size, sequence_length, dtype=dtype,
                              stateful=stateful, batch_size=batch_size)
    head_initializer, head_bias_initializer = "glorot_uniform", None
    if model_config.architecture == "gpt":
        head_initializer = keras.initializers.RandomNormal(stddev=0.02)
    elif model_config.init_scale > 0:
        head_initializer = keras.initializers.RandomUniform(-model_config.init_scale,
                                                            model_config.init_scale)
        if model_config.recurrent_init == "pytorch":
            head_bias_initializer = "zeros"
    model = CausalLM(
        backbone, tie_embeddings=model_config.tie_embeddings,
        head_activation="softmax" if model_config.head_activation == "softmax" else None,
        head_use_bias=model_config.use_bias, head_initializer=head_initializer,
        head_bias_initializer=head_bias_initializer, dtype=dtype,
        name="causal_lm")
    model.build((batch_size if stateful else None, None))
    if model_config.word_vectors:
        if vocabulary is None:
            raise ValueError("`model.word_vectors` needs the tokenizer's vocabulary. Received: "
                             "vocabulary=None")
        coverage = backbone.token_embedding.load_word_vectors(model_config.word_vectors,
                                                              vocabulary)
        logger.info("%s from %s", coverage, model_config.word_vectors)
        model.word_vector_coverage = coverage
    return model


def build_text_classifier(model_config, vocabulary_size, sequence_length, label_names,
                          dtype=None, vocabulary=None, unknown_id=None, seed=None):
    """A built `TextClassifier` for `model_config` over `label_names`' classes.

    Args:
        model_config: a `ModelConfig` (`pooling`, `classifier_dropout`, the backbone's keys).
        vocabulary_size, sequence_length: as for `build_causal_lm`.
        label_names: the class names in label order.
        dtype, vocabulary: as for `build_causal_lm`.
        unknown_id, seed: the tokenizer's unknown token and the seed, for `model.word_dropout`.
    """
    backbone = build_backbone(model_config, vocabulary_size, sequence_length, dtype=dtype)
    model = TextClassifier(backbone, len(label_names), label_names=label_names,
                           pooling=model_config.pooling, dropout=model_config.classifier_dropout,
                           word_dropout=model_config.word_dropout, unknown_id=unknown_id,
                           seed=seed, dtype=dtype, name="text_classifier")
    model.build()
    if model_config.word_vectors:
        if vocabulary is None:
            raise ValueError("`model.word_vectors` needs the tokenizer's vocabulary. Received: "
                             "vocabulary=None")
        model.word_vector_coverage = backbone.token_embedding.load_word_vectors(
            model_config.word_vectors, vocabulary)
    return model


def build_sentence_vae(model_config, train_config, vocabulary_size, unknown_id, dtype=None):
    """A built `SentenceVAE`: encoder and decoder both the recurrent backbone `model_config`
    describes, the decoder a `CausalLM` (tied embeddings as `model.tie_embeddings` says, when
    the widths allow); the KL schedule and free bits from `train_config`."""
    encoder = build_backbone(model_config, vocabulary_size, None, dtype=dtype, name="encoder")
    decoder_backbone = build_backbone(model_config, vocabulary_size, None, dtype=dtype,
                                      name="decoder_backbone")
    tie = model_config.tie_embeddings and decoder_backbone.embedding_dim == model_config.hidden_dim
    decoder = CausalLM(decoder_backbone, tie_embeddings=tie, dtype=dtype, name="decoder")
    model = SentenceVAE(
        encoder, decoder, model_config.latent_dim, unknown_id,
        word_dropout=model_config.word_dropout, kl_schedule=train_config.kl_schedule,
        kl_anneal_steps=train_config.kl_anneal_steps,
        kl_logistic_rate=train_config.kl_logistic_rate, free_bits=train_config.free_bits,
        seed=train_config.seed, dtype=dtype, name="sentence_vae")
    model.build()
    return model
