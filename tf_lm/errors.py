"""The one exception type for bad user input."""


class InputError(ValueError):
    """A problem with something the user gave: a path, a corpus, a config value, a file.

    The message names the input, what was expected and what was received. The CLI turns
    it into one line on stderr and exit code 2; library users can catch it as `ValueError`.
    """


class TrainingError(RuntimeError):
    """Training could not go on (a NaN loss, say); the message names the step and what to do.

    The CLI prints it on one line and exits with status 1.
    """
