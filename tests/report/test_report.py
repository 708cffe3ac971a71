"""`cltool report`: the page holds every plot for a mined table, is self-contained, and draws in a
real browser (headless Chromium; skipped, saying why, where none is installed)."""

import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from cltool.dataset.read import open_dataset
from cltool.dataset.write import Output
from cltool.errors import UsageError
from cltool.report import report
from tests.conftest import read_dataset, run_cltool

PLOTS = {"scores", "negatives_per_anchor", "score_by_rank", "hubs", "cluster_sizes"}


def chain(tmp_path: Path) -> str:
    """A dedup output (with duplicate links) and a mined table made from it, each with a manifest."""
    from cltool.dedup import Settings, dedup

    rows = [{"anchor": f"question {i}", "positive": f"answer number {i} to the question about topic {i % 7}"}
            for i in range(60)]
    rows += [{"anchor": f"question {i} again", "positive": rows[i]["positive"]} for i in range(5)]
    with Output(tmp_path / "pairs", command="ingest", params={}) as out:
        out.write(pa.Table.from_pylist(rows))
    dedup(str(tmp_path / "pairs"), str(tmp_path / "deduped"), Settings(methods=("exact",), on=("positive",)))
    kept = read_dataset(tmp_path / "deduped")
    n = kept.num_rows
    positives = kept.column("positive").to_pylist()
    with Output(tmp_path / "mined", command="mine", params={"num_negatives": 3},
                inputs=[open_dataset(str(tmp_path / "deduped"))]) as out:
        out.count_input(n)
        out.write(kept.append_column("negatives", pa.array(
            [[positives[(i + j) % n] for j in (1, 2, 3)][: (i % 4)] for i in range(n)], pa.list_(pa.string())))
            .append_column("negative_scores", pa.array([[0.6 - 0.05 * j for j in range(i % 4)] for i in range(n)],
                                                       pa.list_(pa.float32())))
            .append_column("negative_ranks", pa.array([list(range(1, 1 + i % 4)) for i in range(n)],
                                                      pa.list_(pa.int32())))
            .append_column("positive_score", pa.array([0.5 + (i % 10) / 40 for i in range(n)], pa.float32())))
    return str(tmp_path / "mined")


def test_the_page_has_every_plot_and_fetches_nothing(tmp_path):
    source = chain(tmp_path)
    summary = report(source, str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text()
    assert set(re.findall(r'data-plot="([^"]+)"', page)) == PLOTS
    assert 'class="plot empty"' not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page  # self-contained
    assert summary["cluster_sizes"] == {"2": 5}  # each of the 5 repeats is a cluster of 2
    assert [s["command"] for s in summary["steps"]] == ["ingest", "dedup", "mine"]
    assert "Row accounting" in page and "exact_duplicate 5" in page
    with pytest.raises(UsageError, match="html"):
        report(source, str(tmp_path / "report.txt"))


def test_the_same_dataset_gives_the_same_page(tmp_path):
    """Dated by the data's manifest, not the clock: a Makefile or a CI diff sees no change where none was."""
    import time

    source = chain(tmp_path)
    report(source, str(tmp_path / "one.html"))
    time.sleep(1.05)  # a clock's timestamp (to the second) would differ now
    report(source, str(tmp_path / "two.html"))
    page = (tmp_path / "one.html").read_bytes()
    assert page == (tmp_path / "two.html").read_bytes()
    created = open_dataset(source).manifest["created_at"]
    assert f"data written {created}".encode() in page


def test_cli_writes_the_page(tmp_path):
    source = chain(tmp_path)
    run = run_cltool("report", source, "-o", str(tmp_path / "r.html"))
    assert run.returncode == 0, run.stderr.decode()
    assert "5 plots" in run.stderr.decode()


# For the browser test: after the page, measure what each plot drew (the marks' rendered boxes).
MEASURE = """<script>
for (const plot of document.querySelectorAll('svg.plot')) {
  let area = 0;
  for (const mark of plot.querySelectorAll('.mark')) { const b = mark.getBBox(); area += b.width * Math.max(b.height, 1); }
  const box = plot.getBoundingClientRect();
  plot.setAttribute('data-drawn', Math.round(area) + ',' + Math.round(box.width) + 'x' + Math.round(box.height));
}
</script>"""


def browser() -> str | None:
    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


@pytest.mark.skipif(browser() is None, reason="no headless Chromium here (Debian: apt-get install chromium; "
                                              ".ci/run installs it)")
def test_the_plots_draw_in_headless_chromium(tmp_path):
    source = chain(tmp_path)
    report(source, str(tmp_path / "report.html"))
    measured = tmp_path / "measured.html"
    measured.write_text((tmp_path / "report.html").read_text().replace("</body>", MEASURE + "</body>"))
    run = subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                          "--dump-dom", measured.as_uri()], capture_output=True, text=True, timeout=120)
    drawn = dict(re.findall(r'data-plot="([^"]+)"[^>]*data-drawn="([^"]+)"', run.stdout))
    assert set(drawn) == PLOTS, run.stderr[-2000:]
    for name, value in drawn.items():
        area, size = value.split(",")
        width, height = map(int, size.split("x"))
        assert int(area) > 100 and width >= 600 and height >= 250, (name, value)
