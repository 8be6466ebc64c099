"""Choosing the `tf.distribute` strategy that `model.fit` runs under."""

import glob
import json
import os

import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.training import multi_worker_fix

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


def read_tf_config():
    """The parsed `TF_CONFIG` environment variable, or None; malformed values are refused."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}). "
                         f"Received: TF_CONFIG={raw[:200]!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise InputError("TF_CONFIG must be an object with a non-empty 'cluster' and a 'task' "
                         f"({{'type': ..., 'index': ...}}). Received: TF_CONFIG={raw[:200]!r}")
    task_type, index = task.get("type"), task.get("index")
    members = cluster.get(task_type)
    if not isinstance(members, list) or not isinstance(index, int) \
            or not 0 <= index < len(members):
        raise InputError(
            f"TF_CONFIG task {task_type!r} index {index!r} is not in the cluster "
            f"{ {k: len(v) if isinstance(v, list) else v for k, v in cluster.items()} }.")
    for role, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(
                isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses):
            raise InputError(f"TF_CONFIG cluster {role!r} must be a list of 'host:port' "
                             f"strings. Received: {addresses!r}")
    return config


def _worker_count(tf_config):
    if not tf_config:
        return 0
    cluster = tf_config["cluster"]
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def _tpu_present():
    return bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel*")
                or glob.glob("/dev/vfio/[0-9]*"))


def _tpu_strategy():
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=os.environ.get("TPU_NAME", ""))
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def resolve_strategy(name="auto"):
    """The strategy named by `train.strategy`.

    `auto`: a TPU (TPU_NAME set or a TPU device node present) → TPUStrategy; TF_CONFIG naming
    several workers → MultiWorkerMirroredStrategy; several GPUs → MirroredStrategy; otherwise
    the default strategy. Multi-worker strategies get `multi_worker_fix` applied.
    """
    if name not in STRATEGIES:
        raise InputError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")
    tf_config = read_tf_config()
    if name == "auto":
        if _tpu_present():
            name = "tpu"
        elif _worker_count(tf_config) > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        try:
            return _tpu_strategy()
        except (ValueError, tf.errors.OpError) as e:
            raise InputError(f"train.strategy=tpu: no TPU could be reached ({e}).") from None
    if tf_config is None:
        raise InputError("train.strategy=multi_worker needs TF_CONFIG describing the cluster "
                         "and this worker's task. Received: TF_CONFIG unset")
    multi_worker_fix.apply()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """True on the one process that writes checkpoints, logs and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not multi_worker_fix.in_multi_worker_mode(strategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief
