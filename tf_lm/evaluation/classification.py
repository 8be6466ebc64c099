"""A classifier's predictions over labelled texts, and the report of how good they are."""

import numpy as np

from tf_lm.data.classification_pipeline import classification_dataset


def class_probabilities(model, tokenizer, preprocessor, texts, length, batch_size=64):
    """`(len(texts), num_classes)` float probabilities, the texts encoded as in training."""
    import tensorflow as tf

    texts = list(texts)
    dataset = classification_dataset(texts, np.zeros(len(texts), np.int32), tokenizer,
                                     preprocessor, length, batch_size)
    logits = model.predict(dataset.map(lambda inputs, _: inputs), verbose=0)  # compiled
    return tf.nn.softmax(tf.cast(logits, tf.float32)).numpy()


def classification_report(probabilities, labels, label_names):
    """Accuracy, cross-entropy, macro and per-class precision/recall/F1 (scikit-learn's
    definitions), and the confusion matrix (rows: true label, columns: predicted).

    Returns:
        A JSON-ready dict: `texts`, `loss`, `accuracy`, `macro_precision`, `macro_recall`,
        `macro_f1`, `per_class` {name: {precision, recall, f1, support}}, `confusion_matrix`
        and `labels` (the names, in matrix order).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = np.asarray(labels)
    predicted = np.argmax(probabilities, axis=1)
    classes = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0)
    picked = probabilities[np.arange(len(labels)), labels]
    return {
        "texts": int(len(labels)),
        "loss": float(-np.mean(np.log(np.maximum(picked, 1e-12)))),
        "accuracy": float(np.mean(predicted == labels)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                             "f1": float(f1[i]), "support": int(support[i])}
                      for i, name in enumerate(label_names)},
        "confusion_matrix": confusion_matrix(labels, predicted, labels=classes).tolist(),
        "labels": list(label_names),
    }
