"""The exceptions the CLI turns into one line and an exit code."""


class InputError(ValueError):
    """A problem with something the user gave: a path, a corpus, a config value, a file.

    The message names the input, what was expected and what was received. The CLI turns
    it into one line on stderr and exit code 2; library users can catch it as `ValueError`.
    """


class TrainingError(RuntimeError):
    """Training could not go on (a NaN loss, say); the message names the step and what to do.

    The CLI prints it on one line and exits with status 1.
    """


class RerunError(TrainingError):
    """Training stopped for a reason outside the run; rerunning the same command resumes it.

    The CLI prints one line and exits with `RERUN_EXIT_CODE` (75, `EX_TEMPFAIL`: try
    again).
    """


class Preempted(RerunError):
    """Training stopped on a preemption signal (SIGTERM) after backing up step `step`."""

    def __init__(self, message, step, backup):
        super().__init__(message)
        self.step, self.backup = step, backup


class PeerLost(RerunError):
    """A worker of a multi-worker run stopped answering (killed, preempted, its node lost);
    `tasks` names the lost ones as TensorFlow reports them."""

    def __init__(self, message, tasks):
        super().__init__(message)
        self.tasks = tasks


RERUN_EXIT_CODE = 75
