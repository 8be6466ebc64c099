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
    exactly as in training (`tf_lm.data.classification_pipeline.encode_texts`). An empty
    batch, a missing `text` feature or text that is not UTF-8 fails the request with
    `INVALID_ARGUMENT`.

    Args:
        model: a built `TextClassifier`.
        tokenizer: its tokenizer.
        preprocessor: its `TextPreprocessor`.
        length: tokens per text (the run's `data.block_size`).
    """

    def __init__(self, model, tokenizer, preprocessor, length):
        super().__init__(name="tf_lm_classifier_serving")
        # Not tracked, as in `ServingModule`: the plain variables are, so a TF1 Session
        # restores the ones the functions read.
        self._untracked = types.SimpleNamespace(model=model)
        self.model_variables = [variable.value for variable in model.variables]
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor
        self.length = int(length)
        self.label_names = list(model.label_names)
        self.serving_default = tf.function(self._predict, input_signature=[
            tf.TensorSpec([None], tf.string, name="texts")])
        self.classify = tf.function(self._classify, input_signature=[
            tf.TensorSpec([None], tf.string, name="inputs")])

    def signatures(self):
        return {"serving_default": self.serving_default, "classify": self.classify}

    def describe(self):
        """What the export's metadata records about this module."""
        return {"task": "classifier", "labels": self.label_names, "length": self.length,
                "text_feature": TEXT_FEATURE,
                "preprocessing": self.preprocessor.get_config()}

    def _probabilities(self, texts):
        texts = check_utf8("texts", texts)
        batch = tf.shape(texts)[0]
        check = tf.debugging.Assert(batch > 0, ["The request holds no text (an empty batch)"])
        with tf.control_dependencies([check]):
            texts = tf.identity(texts)
        inputs = encode_texts(texts, self.tokenizer, self.preprocessor, self.length)
        logits = self._untracked.model(inputs, training=False)
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)

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
