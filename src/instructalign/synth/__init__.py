"""Replay data written by the model itself: `instructalign data synth-replay`."""
