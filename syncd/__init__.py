"""syncd: a declarative GitOps daemon for Docker container stacks."""

__version__ = "0.1.0"
