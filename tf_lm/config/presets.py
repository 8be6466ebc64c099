"""Named configurations.

A preset is a partial config (section -> key -> value) applied over the defaults. The
defaults themselves are the `nanogpt-cpu` recipe, so `nanogpt-cpu` is empty.
"""


def _zaremba(hidden_dim, dropout, init_scale, unroll, clip, epochs, decay_start_epoch,
             decay_factor, learning_rate=1.0):
    """Zaremba et al.'s recipe, its summed-over-time lr and clip restated for a mean loss."""
    return {
        "model": {"architecture": "lstm", "num_layers": 2, "hidden_dim": hidden_dim,
                  "dropout": dropout, "tie_embeddings": False, "use_bias": True,
                  "init_scale": init_scale},
        "data": {"format": "wikitext", "tokenizer": "word", "block_size": unroll,
                 "sampler": "contiguous"},
        "train": {"optimizer": "sgd", "batch_size": 20, "learning_rate": learning_rate * unroll,
                  "clip_norm": clip / unroll, "weight_decay": 0.0, "warmup_steps": 0,
                  "epochs": epochs, "eval_interval": 0, "lr_schedule": "epoch_decay",
                  "decay_start_epoch": decay_start_epoch, "decay_factor": decay_factor},
    }


def _pytorch_word_lm(tied):
    return {
        "model": {"architecture": "lstm", "num_layers": 2, "hidden_dim": 200,
                  "embedding_dim": 200, "dropout": 0.2, "tie_embeddings": tied,
                  "use_bias": True, "init_scale": 0.1, "recurrent_init": "pytorch"},
        "data": {"format": "wikitext", "tokenizer": "word", "block_size": 35,
                 "sampler": "contiguous"},
        "train": {"optimizer": "sgd", "batch_size": 20, "learning_rate": 20.0,
                  "clip_norm": 0.25, "weight_decay": 0.0, "warmup_steps": 0, "epochs": 40,
                  "eval_interval": 0, "lr_schedule": "plateau", "decay_factor": 0.25},
    }


PRESETS = {
    # nanoGPT's CPU config on Tiny Shakespeare (char): 4 layers, 4 heads, 128 wide, block 64,
    # tied embeddings, no biases, batch 12, 2000 steps, AdamW, warmup 100, cosine to a tenth,
    # beta_2 0.99, weight decay 0.1, clip 1 -- with a peak learning rate of 4e-3 instead of
    # nanoGPT's 1e-3 (see TrainConfig.learning_rate). `nanogpt-cpu-reference` is nanoGPT's
    # recipe exactly, for comparisons.
    "nanogpt-cpu": {},
    "nanogpt-cpu-reference": {"train": {"learning_rate": 1e-3, "min_learning_rate": 1e-4}},
    # nanoGPT's `train_shakespeare_char` ("baby GPT"): 6/6/384, block 256, dropout 0.2.
    "nanogpt-baby": {
        "model": {"num_layers": 6, "num_heads": 6, "hidden_dim": 384, "dropout": 0.2},
        "data": {"block_size": 256},
        "train": {"batch_size": 64, "steps": 5000, "learning_rate": 1e-3,
                  "min_learning_rate": 1e-4, "warmup_steps": 100, "eval_interval": 250,
                  "eval_steps": 200},
    },
    # GPT-2 small: 12/12/768, block 1024, byte-level BPE of (at most) GPT-2's 50,257 tokens;
    # 124 M parameters at that vocabulary. A corpus smaller than GPT-2's gives fewer tokens.
    "gpt2-small": {
        "model": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "use_bias": True,
                  "activation": "gelu_tanh"},
        "data": {"tokenizer": "bpe", "vocab_size": 50257, "block_size": 1024},
        "train": {"batch_size": 8, "learning_rate": 6e-4, "min_learning_rate": 6e-5,
                  "warmup_steps": 200},
    },
    # The classic Keras example: Embedding -> LSTM(return_sequences) -> Dense softmax, Adam.
    "seed-lstm": {
        "model": {"architecture": "lstm", "num_layers": 1, "hidden_dim": 128,
                  "embedding_dim": 64, "tie_embeddings": False, "use_bias": True,
                  "head_activation": "softmax"},
        "data": {"block_size": 64},
        "train": {"optimizer": "adam", "batch_size": 32, "learning_rate": 1e-3,
                  "weight_decay": 0.0, "warmup_steps": 0, "lr_schedule": "constant",
                  "clip_norm": None},
    },
    # Zaremba et al. (2014) word-level LSTMs: SGD at lr 1, gradients clipped to norm 5 (10 for
    # the large model), contiguous batches with the state carried, 13/39/55 epochs, lr held for
    # 4/6/14 epochs then divided by 2/1.2/1.15 every epoch, weights uniform in ±0.1/0.05/0.04,
    # dropout on the non-recurrent connections. The paper's lr and clip apply to the loss
    # summed over the unrolled steps (averaged over the batch); tf_lm's loss is the mean over
    # batch and steps, T (= block_size) times smaller, and so is its gradient. SGD on the mean
    # with lr·T and clip/T makes exactly the paper's update: lr·clip(T·g, c) = lr·T·clip(g,
    # c/T). (The paper and TensorFlow's PTB tutorial decay from epoch 5/7/15; the authors'
    # main.lua one epoch later.)
    "zaremba-small": _zaremba(hidden_dim=200, dropout=0.0, init_scale=0.1, unroll=20, clip=5.0,
                              epochs=13, decay_start_epoch=5, decay_factor=0.5),
    "zaremba-medium": _zaremba(hidden_dim=650, dropout=0.5, init_scale=0.05, unroll=35,
                               clip=5.0, epochs=39, decay_start_epoch=7, decay_factor=1 / 1.2),
    "zaremba-large": _zaremba(hidden_dim=1500, dropout=0.65, init_scale=0.04, unroll=35,
                              clip=10.0, epochs=55, decay_start_epoch=15,
                              decay_factor=1 / 1.15),
    # pytorch/examples' word_language_model defaults: 2-layer LSTM 200/200, dropout 0.2, bptt
    # 35, batch 20, SGD lr 20, clip 0.25 (its loss is a mean too), 40 epochs, lr / 4 after
    # every epoch whose validation loss is not the best; embedding and head uniform ±0.1, head
    # bias zero, the LSTM at nn.LSTM's default ±1/sqrt(200).
    # `-tied` ties the head to the embedding (its --tied).
    "pytorch-wt2": _pytorch_word_lm(tied=False),
    "pytorch-wt2-tied": _pytorch_word_lm(tied=True),
    # The sentiment classifier docs/classification.md measures on movie-review polarity: a word
    # LSTM 1 x 256 read to the end, concat pooling, word dropout 0.2, four epochs of batch 32,
    # AdamW 2e-3 cosine to 2e-4, the epoch of the best validation accuracy kept.
    "sentiment-lstm": {
        "model": {"task": "classifier", "architecture": "lstm", "num_layers": 1,
                  "hidden_dim": 256, "embedding_dim": 256, "dropout": 0.3,
                  "classifier_dropout": 0.5, "pooling": "concat", "word_dropout": 0.2},
        "data": {"tokenizer": "word", "block_size": 64, "test_fraction": 0.1},
        "train": {"batch_size": 32, "epochs": 4, "eval_interval": 0, "learning_rate": 2e-3,
                  "min_learning_rate": 2e-4, "warmup_steps": 50, "restore_best": True,
                  "monitor": "val_accuracy", "sample_tokens": 0},
    },
}

DEFAULT_PRESET = "nanogpt-cpu"
