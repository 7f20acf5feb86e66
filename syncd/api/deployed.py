"""What a container really runs, read from Docker's inspect answer: the daemon inspects each
container once (`syncd.daemon.deployed`); the API shows the result. Re-exported here for the
API's readers. Pure: no I/O."""

from syncd.daemon.deployed import deployed_spec

__all__ = ["deployed_spec"]
