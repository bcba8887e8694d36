"""instructalign: continual crosslingual instruction tuning (InstructAlign) for low-resource languages."""

__version__ = "0.3.0"
