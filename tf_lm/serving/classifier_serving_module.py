"""The graph TF Serving runs for a classifier: texts in, labels and probabilities out."""

import os
import types

import tensorflow as tf

from tf_lm.data.classification_pipeline import encode_texts
from tf_lm.serving.serving_module import check_utf8

TEXT_FEATURE = "text"


class ClassifierServingModule(tf.Module):
    """A `TextClassifier`, its preprocessor and tokenizer as the exported signatures.

    - `serving_default` (Predict API): `texts` (string `[batch]`) → `label` (string
      `[batch]`), `label_id` (int32 `[batch]`) and `probabilities` (float `[batch, classes]`,
      in label order).
    - `classify` (Classify API, `tensorflow/serving/classify`): `inputs`, serialized
      `tf.Example`s whose string feature `text` holds the text → `classes` (string
      `[batch, classes]`, every label name) and `scores` (their probabilities), what TF
      Serving's `:classify` REST endpoint and Classify gRPC call answer.

    The text is preprocessed, tokenized, cut to the model's length and padded inside the graph,
    exactly as in training (`tf_lm.data.classification_pipeline.encode_texts`). With
    `ensemble`, the probabilities are the mean of every member's, each member encoding the
    text its own way (`tf-lm evaluate --ensemble`'s rule). An empty
    batch, a missing `text` feature or text that is not UTF-8 fails the request with
    `INVALID_ARGUMENT`.

    Args:
        model: a built `TextClassifier`.
        tokenizer: its tokenizer.
        preprocessor: its `TextPreprocessor`.
        length: tokens per text (the run's `data.block_size`).
        ensemble: more `(model, tokenizer, preprocessor, length)` members with the same
            labels, averaged with the first.
    """

    def __init__(self, model, tokenizer, preprocessor, length, ensemble=()):
        super().__init__(name="tf_lm_classifier_serving")
        members = [(model, tokenizer, preprocessor, length)] + list(ensemble)
        for other, *_ in members[1:]:
            if list(other.label_names) != list(model.label_names):
                raise ValueError("Every member of an ensemble must have the same labels. "
                                 f"Received: {list(model.label_names)} and "
                                 f"{list(other.label_names)}")
        # Not tracked, as in `ServingModule`: the plain variables are, so a TF1 Session
        # restores the ones the functions read.
        self._untracked = types.SimpleNamespace(models=[m[0] for m in members])
        self.model_variables = [v.value for m in members for v in m[0].variables]
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor
        self.length = int(length)
        self.tokenizers = [m[1] for m in members]
        self.preprocessors = [m[2] for m in members]
        self.lengths = [int(m[3]) for m in members]
        self.label_names = list(model.label_names)
        self.serving_default = tf.function(self._predict, input_signature=[
            tf.TensorSpec([None], tf.string, name="texts")])
        self.classify = tf.function(self._classify, input_signature=[
            tf.TensorSpec([None], tf.string, name="inputs")])

    def signatures(self):
        return {"serving_default": self.serving_default, "classify": self.classify}

    def describe(self):
        """What the export's metadata records about this module."""
        described = {"task": "classifier", "labels": self.label_names, "length": self.length,
                     "text_feature": TEXT_FEATURE,
                     "preprocessing": self.preprocessor.get_config()}
        if len(self.tokenizers) > 1:
            described["ensemble"] = [
                {"tokenizer": tokenizer.kind,
                 "vocabulary_size": int(tokenizer.vocabulary_size()), "length": length,
                 "preprocessing": preprocessor.get_config()}
                for tokenizer, preprocessor, length in zip(self.tokenizers,
                                                           self.preprocessors, self.lengths)]
        return described

    def _probabilities(self, texts):
        texts = check_utf8("texts", texts)
        batch = tf.shape(texts)[0]
        check = tf.debugging.Assert(batch > 0, ["The request holds no text (an empty batch)"])
        with tf.control_dependencies([check]):
            texts = tf.identity(texts)
        probabilities = []
        for model, tokenizer, preprocessor, length in zip(
                self._untracked.models, self.tokenizers, self.preprocessors, self.lengths):
            inputs = encode_texts(texts, tokenizer, preprocessor, length)
            logits = model(inputs, training=False)
            probabilities.append(tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1))
        return tf.add_n(probabilities) / len(probabilities)

    def _predict(self, texts):
        probabilities = self._probabilities(texts)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        names = tf.constant(self.label_names)
        return {"label": tf.gather(names, label_id), "label_id": label_id,
                "probabilities": probabilities}

    def _classify(self, inputs):
        features = tf.io.parse_example(
            inputs, {TEXT_FEATURE: tf.io.FixedLenFeature([], tf.string)})
        scores = self._probabilities(features[TEXT_FEATURE])
        classes = tf.tile(tf.constant(self.label_names)[tf.newaxis], [tf.shape(scores)[0], 1])
        return {"classes": classes, "scores": scores}


def mark_classify_signature(path, key="classify"):
    """Give the SavedModel's `key` signature the Classify API's method name.

    `tf.saved_model.save` writes every signature as `tensorflow/serving/predict`; TF Serving
    answers `:classify` only for a signature named `tensorflow/serving/classify` with a
    string input `inputs` and outputs `classes`/`scores`, which the proto states here.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    pb = os.path.join(path, "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(pb, "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for meta_graph in saved_model.meta_graphs:
        meta_graph.signature_def[key].method_name = (
            tf.saved_model.CLASSIFY_METHOD_NAME)
    with open(pb, "wb") as handle:
        handle.write(saved_model.SerializeToString())
