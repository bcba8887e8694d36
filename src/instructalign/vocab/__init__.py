"""Vocabulary for new languages: how a tokenizer cuts each language (`audit.py`)."""
