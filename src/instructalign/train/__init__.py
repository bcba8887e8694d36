"""`instructalign train`: continual instruction tuning (`run.py`), its Trainer (`trainer.py`), its data
(`data.py`)."""

from .run import train

__all__ = ["train"]
