"""Which ops a SavedModel needs: what decides whether stock TF Serving can run it."""

import os

# TF Serving disables XLA by default and has no Python: these ops cannot run there.
FORBIDDEN_PREFIXES = ("Xla",)
FORBIDDEN_OPS = ("PyFunc", "EagerPyFunc", "PyFuncStateless")


def saved_model_ops(path, tags=("serve",)):
    """The op types of the SavedModel at `path`: its graph and every function in its library.

    Reads `saved_model.pb` with the protobuf classes only (no graph is imported), so ops from
    libraries this process has not loaded are listed too.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    ops = set()
    for meta_graph in saved_model.meta_graphs:
        if set(tags) - set(meta_graph.meta_info_def.tags):
            continue
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    return ops


def unservable_ops(ops):
    """The ops of `ops` stock TF Serving cannot run (XLA and Python ops), sorted."""
    return sorted(op for op in ops if op.startswith(FORBIDDEN_PREFIXES) or op in FORBIDDEN_OPS)
