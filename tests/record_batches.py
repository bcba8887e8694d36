"""`instructalign train` that also records every batch it trains on, one JSON line per batch and process.

Run as `python tests/record_batches.py RECORD_DIR train-flags...` (under torchrun for several processes):
writes RECORD_DIR/rank{R}.jsonl with the token ids of each example of each batch.
"""

import json
import os
import sys
from pathlib import Path

from instructalign.cli import config_for, make_parser
from instructalign.train import data, run

if __name__ == "__main__":
    record, flags = Path(sys.argv[1]), sys.argv[2:]
    record.mkdir(parents=True, exist_ok=True)
    log = open(record / f"rank{os.environ.get('RANK', '0')}.jsonl", "w")
    plain = data.PaddingCollator.__call__

    def recording(self, features):
        log.write(json.dumps([f["input_ids"] for f in features]) + "\n")
        log.flush()
        return plain(self, features)

    run.PaddingCollator.__call__ = recording
    run.train(config_for(make_parser().parse_args(["train", *flags]), "train"))
