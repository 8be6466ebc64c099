"""A training session for a sentence VAE: sentences, a `SentenceVAE`, its ELBO report."""

from tf_lm.data.corpus import Corpus
from tf_lm.data.sentence_pipeline import count_long_sentences, sentence_dataset, sentences
from tf_lm.errors import InputError
from tf_lm.evaluation.sentence_likelihood import sentence_likelihood
from tf_lm.models.builder import build_sentence_vae
from tf_lm.models.sentence_vae import kl_weight
from tf_lm.training.session import Session, distribute, tokenizer_for_run


class VAESession(Session):
    """`Session` over sentences: the same strategy, `model.fit`, callbacks, backups and resume;
    the data (one sentence per line, or per `.` with `data.sentences=periods`), the model
    (`SentenceVAE`) and the final report (ELBO, reconstruction, KL, active units) differ.

    `val_loss` is the negative ELBO in nats per sentence, so the best checkpoint and early
    stopping follow the bound on log p(x).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.samples_text = False
        self.validation_steps = None  # every validation sentence, each validation

    @staticmethod
    def load_data(config):
        """{split: sentences}, checked before the run directory is touched."""
        data_config = config.data
        corpus = Corpus.from_config(data_config)
        if corpus.streaming:
            raise InputError(f"A sentence VAE holds its sentences in memory; {corpus.name} is "
                             f"larger than data.in_memory_max_mb={data_config.in_memory_max_mb}")
        splits = {split: sentences(corpus.lines(split), data_config.sentences,
                                   data_config.format == "wikitext")
                  for split in corpus.split_names}
        count, train_config = len(splits["train"]), config.train
        batch = train_config.batch_size
        if count < batch:
            raise InputError(f"The training split of {data_config.corpus} has {count} "
                             f"sentences, fewer than one batch (train.batch_size={batch})")
        steps = (train_config.epochs * (count // batch) if train_config.epochs
                 else train_config.steps)
        end = float(kl_weight(steps, train_config.kl_schedule, train_config.kl_anneal_steps,
                              train_config.kl_logistic_rate))
        if end < 0.99:
            raise InputError(
                f"train.kl_schedule={train_config.kl_schedule!r} with kl_anneal_steps="
                f"{train_config.kl_anneal_steps} reaches a KL weight of {end:.3f} at the last "
                f"step ({steps}); the ELBO needs 1. Train longer or anneal faster.")
        return corpus, splits

    def data(self, loaded=None):
        config, data_config = self.config, self.config.data
        self.corpus, self.sentences = loaded or self.load_data(config)
        self.tokenizer = tokenizer_for_run(config, _Sentences(self.sentences), self.shared,
                                           self.chief)
        self._schedule(len(self.sentences["train"]) // config.train.batch_size)
        self.has_valid = "valid" in self.sentences
        if not self.has_valid:
            self.echo("warning: no validation split (data.valid_fraction=0 and no valid file): "
                      "no validation figures, best checkpoint or early stopping.")
        block = data_config.block_size
        long = sum(count_long_sentences(texts, self.tokenizer, block)
                   for texts in self.sentences.values())
        if long:
            self.echo(f"warning: {long:,} sentences have more than data.block_size - 1 = "
                      f"{block - 1} words; each keeps its first {block - 1} and its <eos>.")
        counts = ", ".join(f"{split} {len(texts):,}" for split, texts in self.sentences.items())
        self.echo(f"sentences: {counts}")

    def new_model(self):
        config = self.config
        return build_sentence_vae(config.model, config.train, self.tokenizer.vocabulary_size(),
                                  self.tokenizer.unknown_token_id,
                                  dtype=config.train.mixed_precision)

    def datasets(self, start_step):
        config = self.config
        batch, length = config.train.batch_size, config.data.block_size

        def make_train():
            return sentence_dataset(self.sentences["train"], self.tokenizer, length, batch,
                                    seed=config.data.seed, repeat=True,
                                    start_step=start_step)

        train_data = distribute(self.strategy, make_train, batch)
        if not self.has_valid:
            return train_data, None

        def make_valid():
            return sentence_dataset(self.sentences["valid"], self.tokenizer, length, batch)

        return train_data, distribute(self.strategy, make_valid, batch)

    def final_validation(self, result):
        figures = sentence_likelihood(self._synced_twin(), self.tokenizer,
                                      self.sentences["valid"], self.config.data.block_size,
                                      self.config.train.batch_size, seed=self.config.train.seed)
        result.val_loss = figures["nll_bound"]
        result.val_perplexity = figures["perplexity_bound"]
        self.val_figures = figures
        self.echo(f"validation: ELBO {figures['elbo']:.2f} nats per sentence (reconstruction "
                  f"{figures['reconstruction']:.2f}, KL {figures['kl']:.2f}), perplexity bound "
                  f"{figures['perplexity_bound']:.1f}, {figures['active_units']} active units")

    def finished_figures(self, result):
        figures = getattr(self, "val_figures", None)
        if figures is None:  # no validation split
            return {"val_loss": result.val_loss}
        return {"val_loss": result.val_loss, "val_elbo": figures["elbo"],
                "val_reconstruction": figures["reconstruction"], "val_kl": figures["kl"],
                "val_perplexity_bound": figures["perplexity_bound"],
                "val_active_units": figures["active_units"]}


class _Sentences:
    """Sentences by split, seen as lines (what the tokenizer learns from)."""

    def __init__(self, splits):
        self.splits = splits
        self.split_names = list(splits)

    def lines(self, split):
        return self.splits[split]
