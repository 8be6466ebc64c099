from tests.serving.conftest import exported  # noqa: F401  (the same exported model)
