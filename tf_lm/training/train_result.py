"""What `train()` returns."""

import dataclasses


@dataclasses.dataclass
class TrainResult:
    """What a run did: where it is, how far it got, and how good the model is."""

    run_dir: str
    status: str  # "finished", "already_finished" or "stopped_early"
    steps: int
    resumed_from_step: int = 0
    val_loss: float = float("nan")
    val_perplexity: float = float("nan")
    val_bits_per_character: float = None
    val_accuracy: float = None  # classifiers
    val_macro_f1: float = None
    sample: str = ""
    model: object = None
