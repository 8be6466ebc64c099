"""Named configurations.

A preset is a partial config (section -> key -> value) applied over the defaults. The
defaults themselves are the `nanogpt-cpu` recipe, so `nanogpt-cpu` is empty.
"""

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
    # GPT-2 small: 12/12/768, block 1024; with a 50,257-token vocabulary, 124 M parameters.
    "gpt2-small": {
        "model": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "use_bias": True,
                  "activation": "gelu_tanh"},
        "data": {"tokenizer": "byte", "block_size": 1024},
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
    # Zaremba et al. (2014) word-level LSTMs (PTB/WikiText, contiguous batches, SGD lr 1).
    # Learning rate 1 for 4/6/14 epochs, then x0.5 / x1/1.2 / x1/1.15 each epoch, 13/39/55
    # epochs, gradients clipped to norm 5. State carried across contiguous batches.
    "zaremba-small": {
        "model": {"architecture": "lstm", "num_layers": 2, "hidden_dim": 200,
                  "tie_embeddings": False, "use_bias": True, "init_scale": 0.1},
        "data": {"format": "wikitext", "tokenizer": "word", "block_size": 20,
                 "sampler": "contiguous"},
        "train": {"optimizer": "sgd", "batch_size": 20, "learning_rate": 1.0,
                  "weight_decay": 0.0, "warmup_steps": 0, "clip_norm": 5.0, "epochs": 13,
                  "lr_schedule": "epoch_decay", "decay_start_epoch": 5, "decay_factor": 0.5},
    },
    "zaremba-medium": {
        "model": {"architecture": "lstm", "num_layers": 2, "hidden_dim": 650, "dropout": 0.5,
                  "tie_embeddings": False, "use_bias": True, "init_scale": 0.05},
        "data": {"format": "wikitext", "tokenizer": "word", "block_size": 35,
                 "sampler": "contiguous"},
        "train": {"optimizer": "sgd", "batch_size": 20, "learning_rate": 1.0,
                  "weight_decay": 0.0, "warmup_steps": 0, "clip_norm": 5.0, "epochs": 39,
                  "lr_schedule": "epoch_decay", "decay_start_epoch": 7, "decay_factor": 1 / 1.2},
    },
    "zaremba-large": {
        "model": {"architecture": "lstm", "num_layers": 2, "hidden_dim": 1500, "dropout": 0.65,
                  "tie_embeddings": False, "use_bias": True, "init_scale": 0.04},
        "data": {"format": "wikitext", "tokenizer": "word", "block_size": 35,
                 "sampler": "contiguous"},
        "train": {"optimizer": "sgd", "batch_size": 20, "learning_rate": 1.0,
                  "weight_decay": 0.0, "warmup_steps": 0, "clip_norm": 5.0, "epochs": 55,
                  "lr_schedule": "epoch_decay", "decay_start_epoch": 15,
                  "decay_factor": 1 / 1.15},
    },
}

DEFAULT_PRESET = "nanogpt-cpu"
