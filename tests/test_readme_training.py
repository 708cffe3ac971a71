"""The README's training example runs on a file `emit` wrote: one step of the real trainer."""

import re
from pathlib import Path

import pytest

from tests.conftest import run_cltool

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_training_example_trains_on_an_emitted_file(tmp_path, monkeypatch):
    pytest.importorskip("accelerate")
    from cltool.embed.model import bundled_model_path

    import pyarrow as pa

    from cltool.dataset import Output

    anchors = [f"how do I do task {i}" for i in range(16)]
    positives = [f"call tool_{i}() with care" for i in range(16)]
    with Output(tmp_path / "mined", command="mine", params={"num_negatives": 1}) as out:  # as mine writes it
        out.write(pa.table({"anchor": anchors, "positive": positives,
                            "negatives": [[positives[(i + 1) % 16]] for i in range(16)]}))
    done = run_cltool("emit", str(tmp_path / "mined"), "-o", str(tmp_path / "out" / "train.jsonl"))
    assert done.returncode == 0, done.stderr.decode()
    section = README.read_text().split("### Training on the emitted file", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    # the same code, on the bundled model (offline) and for a single step
    code = code.replace('"sentence-transformers/all-MiniLM-L6-v2"', repr(str(bundled_model_path())))
    code = code.replace("num_train_epochs=1,", "max_steps=1, report_to=[], save_strategy='no',")
    code = code.replace("per_device_train_batch_size=32", "per_device_train_batch_size=8")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    model = namespace["model"]
    assert model.encode(["a question"]).shape == (1, 384)
