"""Zero-shot prompted evaluation: tasks as YAML, rank-classification scoring, metrics."""
