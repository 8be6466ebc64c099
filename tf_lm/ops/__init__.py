"""Kernels the layers call on the serving path, kept apart so each layer reads like its formula."""

from tf_lm.ops.attention_kernels import (batched_matmul, per_row, write_cache,
                                         written_out_softmax, writes_in_place)

__all__ = ["batched_matmul", "per_row", "write_cache", "written_out_softmax", "writes_in_place"]
