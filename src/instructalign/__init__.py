"""instructalign: continual crosslingual instruction tuning (InstructAlign) for low-resource languages."""

__version__ = "0.1.0"
