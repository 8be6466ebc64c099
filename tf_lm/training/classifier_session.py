"""A training session for a text classifier: labelled data, a `TextClassifier`, its report."""

import math

from tf_lm.data.classification_pipeline import classification_dataset
from tf_lm.data.labelled_corpus import LabelledCorpus
from tf_lm.errors import InputError
from tf_lm.evaluation.classification import class_probabilities, classification_report
from tf_lm.models.builder import build_text_classifier
from tf_lm.tokenizers.text_preprocessor import TextPreprocessor
from tf_lm.training.session import Session, distribute, tokenizer_for_run
from tf_lm.utils import atomic


class ClassifierSession(Session):
    """`Session` with labelled texts: the same strategy, `model.fit`, callbacks, backups and
    resume; the data, the model (`TextClassifier`) and the final report differ.

    The preprocessor (`data.lowercase`, `data.stopwords`) is saved beside the tokenizer
    (`tokenizer/preprocessing.json`) and the label names as `labels.json`, so evaluation,
    prediction and the export encode texts exactly as training did.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.samples_text = False
        self.validation_steps = None  # every validation text, each validation

    @staticmethod
    def load_data(config):
        """The labelled corpus, checked against the config: called before the run directory is
        touched, so bad data leaves nothing written."""
        corpus = LabelledCorpus.from_config(config.data)
        wanted = config.model.num_classes
        if wanted and wanted != len(corpus.label_names):
            raise InputError(f"model.num_classes={wanted} but the labelled corpus "
                             f"{config.data.corpus} has {len(corpus.label_names)} classes: "
                             f"{corpus.label_names}")
        texts, batch = len(corpus.texts("train")), config.train.batch_size
        if texts < batch:
            raise InputError(f"The training split of {config.data.corpus} has {texts} texts, "
                             f"fewer than one batch (train.batch_size={batch})")
        return corpus

    def data(self, corpus=None):
        config, data_config = self.config, self.config.data
        self.corpus = corpus = corpus or self.load_data(config)
        self.label_names = corpus.label_names
        self.preprocessor = TextPreprocessor.from_config(data_config)
        self.tokenizer = tokenizer_for_run(config, corpus.preprocessed(self.preprocessor.apply),
                                           self.shared, self.chief)
        if config.model.word_dropout and self.tokenizer.unknown_token_id is None:
            raise InputError("model.word_dropout replaces words by the tokenizer's unknown token; "
                             f"data.tokenizer={data_config.tokenizer!r} has none. Use a word, bpe, "
                             "wordpiece or sentencepiece tokenizer, or model.word_dropout=0.")
        if self.chief:
            self.preprocessor.save(self.shared.tokenizer_dir)
            atomic.write_json(self.shared.labels_path, self.label_names)
        self._schedule(len(corpus.texts("train")) // config.train.batch_size)
        self.has_valid = "valid" in corpus.split_names
        if not self.has_valid:
            self.echo("warning: no validation split (data.valid_fraction=0 and no valid file): "
                      "no validation figures, best checkpoint or early stopping.")
        counts = ", ".join(f"{split} {len(corpus.texts(split)):,}" for split in corpus.split_names)
        self.echo(f"{len(self.label_names)} classes {self.label_names}; texts: {counts}")

    def new_model(self):
        config = self.config
        vocabulary = self.tokenizer.get_vocabulary() if config.model.word_vectors else None
        return build_text_classifier(config.model, self.tokenizer.vocabulary_size(),
                                     config.data.block_size, self.label_names,
                                     dtype=config.train.mixed_precision, vocabulary=vocabulary,
                                     unknown_id=self.tokenizer.unknown_token_id,
                                     seed=config.train.seed)

    def start_from_source(self, model):
        super().start_from_source(model)
        for variable in model.head.weights:  # LoRA freezes all else; the new head must learn
            variable.trainable = True

    def datasets(self, start_step):
        config, corpus = self.config, self.corpus
        batch, length = config.train.batch_size, config.data.block_size

        def make(split, **options):
            return classification_dataset(corpus.texts(split), corpus.labels(split),
                                          self.tokenizer, self.preprocessor, length, batch,
                                          **options)

        def make_train():
            return make("train", seed=config.data.seed, repeat=True, start_step=start_step)

        train_data = distribute(self.strategy, make_train, batch)
        if not self.has_valid:
            return train_data, None

        def make_valid():
            return make("valid")

        return train_data, distribute(self.strategy, make_valid, batch)

    def final_validation(self, result):
        twin = self._synced_twin()
        probabilities = class_probabilities(
            twin, self.tokenizer, self.preprocessor, self.corpus.texts("valid"),
            self.config.data.block_size, self.config.train.batch_size)
        report = classification_report(probabilities, self.corpus.labels("valid"),
                                       self.label_names)
        result.val_loss = report["loss"]
        result.val_perplexity = float(math.exp(min(result.val_loss, 700.0)))
        result.val_accuracy = report["accuracy"]
        result.val_macro_f1 = report["macro_f1"]

    def finished_figures(self, result):
        return {"val_loss": result.val_loss, "val_accuracy": result.val_accuracy,
                "val_macro_f1": result.val_macro_f1}
