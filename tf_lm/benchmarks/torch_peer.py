"""PyTorch's `nn.LSTM` language model, timed on the same batches: the peer most users of a
word-level LSTM would run (pytorch/examples' `word_language_model`). PyTorch is not a tf_lm
dependency; without it the benchmark says so and goes on."""

import time


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_lstm_tokens_per_s(model_config, vocabulary_size, batches, learning_rate, clip_norm,
                            repeats):
    """Training tokens/s of `Embedding → nn.LSTM → Linear` with SGD and gradient clipping, as
    pytorch/examples trains it: the median over `repeats` passes over `batches` (a list of
    `(x, y)` int arrays), after one warm-up pass. The state is carried (detached) from batch to
    batch, as in pytorch/examples."""
    import statistics

    import torch

    hidden = model_config.hidden_dim
    embedding_dim = model_config.embedding_dim or hidden

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocabulary_size, embedding_dim)
            self.lstm = torch.nn.LSTM(embedding_dim, hidden, model_config.num_layers,
                                      dropout=model_config.dropout, batch_first=True)
            self.dropout = torch.nn.Dropout(model_config.dropout)
            self.head = torch.nn.Linear(hidden, vocabulary_size)

        def forward(self, x, state):
            out, state = self.lstm(self.dropout(self.embedding(x)), state)
            return self.head(self.dropout(out)), state

    torch.manual_seed(0)
    model, loss_fn = Model(), torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    batches = [(torch.from_numpy(x).long(), torch.from_numpy(y).long()) for x, y in batches]
    tokens = sum(x.numel() for x, _ in batches)

    def one_pass():
        state = None
        for x, y in batches:
            if state is not None:
                state = tuple(s.detach() for s in state)
            optimizer.zero_grad()
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, vocabulary_size), y.reshape(-1))
            loss.backward()
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()

    model.train()
    one_pass()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        seconds.append(time.perf_counter() - start)
    return tokens / statistics.median(seconds), torch.get_num_threads()
