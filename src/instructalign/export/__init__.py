"""Meeting other tools: lm-evaluation-harness task folders and results, and hub model cards."""
