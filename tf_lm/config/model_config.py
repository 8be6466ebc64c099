"""The `model` section: which architecture and how big."""

import dataclasses

from tf_lm.config.fields import option

ARCHITECTURES = ("gpt", "lstm", "gru", "rnn")
TASKS = ("causal_lm", "classifier", "vae")
POOLINGS = ("last", "mean", "max", "concat")  # SequencePooling's modes


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The architecture of the language model; the vocabulary size comes from the tokenizer."""

    # `gpt`: decoder-only Transformer. `lstm`/`gru`/`rnn`: stacked recurrent LM.
    architecture: str = option("gpt", "model family", choices=ARCHITECTURES)
    # Transformer blocks, or stacked recurrent layers.
    num_layers: int = option(4, "number of Transformer blocks or recurrent layers", minimum=1)
    # Attention heads (gpt only); hidden_dim must be divisible by it.
    num_heads: int = option(4, "attention heads (gpt)", minimum=1)
    # Width of the residual stream (gpt) or of each recurrent layer's state.
    hidden_dim: int = option(128, "model width / recurrent units", minimum=1)
    # Token embedding width; 0 means equal to hidden_dim.
    embedding_dim: int = option(0, "embedding width (0: hidden_dim)", minimum=0)
    # Inner width of the feed-forward network; 0 means 4 * hidden_dim.
    intermediate_dim: int = option(0, "feed-forward width (0: 4 * hidden_dim)", minimum=0)
    # Dropout on embeddings, attention, residual branches and between recurrent layers.
    dropout: float = option(0.0, "dropout rate", minimum=0.0, maximum=0.99)
    # Biases in dense and normalization layers (nanoGPT's `bias`).
    use_bias: bool = option(False, "biases in dense and norm layers")
    # Share the token embedding with the output projection (logits = h . E^T).
    tie_embeddings: bool = option(True, "tie input embedding and output projection")
    # Positional encoding of the gpt family.
    position_encoding: str = option(
        "learned", "positional encoding (gpt)", choices=("learned", "sinusoidal")
    )
    # Pre-LayerNorm (GPT-2) or post-LayerNorm (original Transformer).
    norm_position: str = option("pre", "layer norm placement (gpt)", choices=("pre", "post"))
    # Feed-forward activation: any Keras activation by name (gelu is the exact GELU; relu the
    # original Transformer's), or gelu_tanh, GPT-2's tanh approximation.
    activation: str = option("gelu", "feed-forward activation (a Keras activation or gelu_tanh)")
    # LayerNorm epsilon of the gpt family (GPT-2: 1e-5).
    layer_norm_epsilon: float = option(1e-5, "LayerNorm epsilon (gpt)", minimum=0.0)
    # Recurrent models: weights uniform in [-init_scale, init_scale]; 0 uses Keras defaults.
    init_scale: float = option(0.0, "uniform init range for recurrent models (0: default)",
                               minimum=0.0)
    # Recurrent models: `uniform` starts every weight (head bias included) in ±init_scale
    # (Zaremba et al.); `pytorch` keeps ±init_scale for the embedding and head, starts the head
    # bias at zero and the recurrent layers in ±1/sqrt(hidden_dim) (nn.LSTM's default), as
    # pytorch/examples' word_language_model does.
    recurrent_init: str = option("uniform", "recurrent models' init scheme with init_scale",
                                 choices=("uniform", "pytorch"))
    # `softmax`: the model outputs probabilities (the classic Keras example's
    # Dense(vocab, activation="softmax")); `none`: logits, the loss applies the softmax.
    head_activation: str = option("none", "output layer activation", choices=("none", "softmax"))
    # GloVe / word2vec text file whose vectors initialise the embedding (word vocabularies).
    word_vectors: str = option("", "pretrained word vectors file (GloVe/word2vec text)")
    # `causal_lm`: predict the next token. `classifier`: one label per text (the backbone's
    # hidden states pooled, dropout, a dense layer to num_classes); data.corpus is labelled.
    # `vae`: a sentence VAE (an encoder to q(z|x), a decoder language model given z), one
    # sentence a line of data.corpus.
    task: str = option("causal_lm", "what the model predicts", choices=TASKS)
    # Classifier: the number of classes; 0 takes it from the labelled corpus.
    num_classes: int = option(0, "classifier: number of classes (0: from the data)", minimum=0)
    # Classifier: `last` takes the hidden state of the last real token (it has seen the whole
    # text in a causal model); `mean` averages the hidden states of the real tokens.
    pooling: str = option("last", "classifier: pooling of the hidden states", choices=POOLINGS)
    # Classifier: dropout on the pooled state, before the dense head.
    classifier_dropout: float = option(0.1, "classifier: dropout before the head",
                                       minimum=0.0, maximum=0.99)
    # VAE: the size of the latent code z.
    latent_dim: int = option(16, "vae: size of the latent code z", minimum=1)
    # VAE: probability of replacing each decoder input word by <unk> while training, so the
    # decoder needs z (Bowman et al., 2016). Classifier: the same on its input, a regularizer.
    word_dropout: float = option(0.0, "vae, classifier: word dropout on the inputs",
                                 minimum=0.0, maximum=0.99)
