"""loralab: Hydra-composed LoRA / QLoRA supervised fine-tuning with tool-call evaluation."""

__version__ = "0.1.0"


def compose(*args, **kwargs):
    from .api import compose as _compose

    return _compose(*args, **kwargs)


def train(*args, **kwargs):
    from .api import train as _train

    return _train(*args, **kwargs)


__all__ = ["compose", "train", "__version__"]
