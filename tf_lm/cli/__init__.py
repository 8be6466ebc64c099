"""The `tf-lm` command line."""
