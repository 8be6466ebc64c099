"""The data and models a benchmark runs on: the config's corpus, tokenizer and model."""

import dataclasses

from tf_lm.errors import InputError


@dataclasses.dataclass
class Workload:
    """The config's training tokens, tokenizer and a fresh model."""

    config: object
    tokenizer: object
    tokens: object  # 1-D int32 training tokens
    vocabulary_size: int

    @classmethod
    def from_config(cls, config):
        from tf_lm.data.corpus import Corpus
        from tf_lm.data.pipeline import tokenize_split
        from tf_lm.tokenizers.registry import build_tokenizer

        corpus = Corpus.from_config(config.data)
        if corpus.streaming:
            raise InputError("Benchmarks read the training split into memory; this corpus is "
                             "streamed (data.streaming). Use a smaller corpus.")
        tokenizer = build_tokenizer(config.data, corpus)
        tokens = tokenize_split(corpus, "train", tokenizer)
        return cls(config, tokenizer, tokens, tokenizer.vocabulary_size())

    def model(self, sequence_length=None):
        """A fresh built `CausalLM` of the config (context `sequence_length` if given)."""
        from tf_lm.models.builder import build_causal_lm

        return build_causal_lm(self.config.model, self.vocabulary_size,
                               sequence_length or self.config.data.block_size,
                               dtype=self.config.train.mixed_precision)

    def dataset(self):
        """The training batches, as `tf-lm train` draws them."""
        from tf_lm.data.pipeline import make_dataset

        data = self.config.data
        return make_dataset(self.tokens, data.block_size, self.config.train.batch_size,
                            sampler=data.sampler, seed=data.seed, repeat=True)

    def check_gpt(self, what):
        if self.config.model.architecture != "gpt":
            raise InputError(f"`tf-lm bench {what}` compares against keras-hub's GPT-2 and "
                             "needs a gpt model. Received: model.architecture="
                             f"{self.config.model.architecture!r}")
