"""egs/synth's ground-truth tables at tiny size (local/run_bench.sh), every method scored against them
(local/score_search.sh), the export that remakes BENCH.md, and a resume from the export."""
import json
import shutil
import sys

from test_recipe_synth import tiny_recipe_with_data


def test_tiny_bench_tables_and_search_scores(run, tmp_path):
    d = tiny_recipe_with_data(run, tmp_path)
    # the ground-truth tables, tiny: 3 architectures of the two spaces, 1 epoch each
    r = run(str(d / "local" / "run_bench.sh"), "--tiny", "true")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    from nas.bench.table import load_folder
    cell = load_folder(d / "exp" / "tiny_bench" / "tables" / "cell", epochs=1)
    tdnn = load_folder(d / "exp" / "tiny_bench" / "tables" / "tdnn", epochs=1)
    assert (len(cell), len(tdnn)) == (2, 1) and cell.codec.name == "nb_asr" and tdnn.codec.name == "synth_bench"
    entry = tdnn.query(tdnn.hashes()[0])
    assert 0.0 <= entry["test_wer"] <= 2.0 and entry["params"] > 0 and entry["flops"] > 0 and entry["train_time"] > 0
    assert len(entry["dev_loss"]) == 1 and entry["seed"] == "mean of 0"
    r = run(str(d / "local" / "run_bench.sh"), "--tiny", "true")              # finished jobs are skipped
    assert r.returncode == 0 and "=== bench job" not in r.stdout
    # every method scored against them, tiny: ST-NAS, one seed, into BENCH.md; the cell space only (in tiny
    # mode the TDNN space's warm-up and search run the same configs through the same loop: its pass took
    # a fifth of this test's time and tested nothing the cell's does not)
    r = run(str(d / "local" / "score_search.sh"), "--tiny", "true", "--spaces", "cell",
            "--export", "exp/tiny_bench_export")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    bench_md = (d / "exp" / "tiny_bench" / "BENCH.md").read_text()
    assert (d / "exp" / "tiny_bench" / "search" / "cell_warmup" / "warmup" / "done").is_file()
    # the export (no search or training dirs: what is committed) remakes the same file
    export = d / "exp" / "tiny_bench_export"
    assert not (export / "search").exists() and (export / "records" / "cell_st_seed0.json").is_file()
    r = run(sys.executable, "-m", "nas.bin.bench", "report", str(export), "--out", str(d / "exp" / "again.md"),
            "--spaces", "cell", "--methods", "st", "--seeds", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    again = (d / "exp" / "again.md").read_text()
    assert again[again.index("\n## "):] == bench_md[bench_md.index("\n## "):]
    # ... and, copied into a bench dir, resumes with nothing to redo: no training, warm-up or search
    shutil.copytree(export, d / "exp" / "tiny_resume")
    r = run(str(d / "local" / "run_bench.sh"), "--tiny", "true", "--bench", "exp/tiny_resume")
    assert r.returncode == 0 and "stage 1: 0 of 3 trainings to run" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert "=== bench job" not in r.stdout
    assert len(load_folder(d / "exp" / "tiny_resume" / "tables" / "cell", epochs=1)) == 2
    r = run(str(d / "local" / "score_search.sh"), "--tiny", "true", "--spaces", "cell", "--bench", "exp/tiny_resume",
            "--export", "")
    assert r.returncode == 0 and "=== cell: every search is scored" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert "warm-up (seed" not in r.stdout and not (d / "exp" / "tiny_resume" / "search" / "cell_st_seed0").exists()
    again = (d / "exp" / "tiny_resume" / "BENCH.md").read_text()
    assert again[again.index("\n## "):] == bench_md[bench_md.index("\n## "):]
    for part in ("## cell: 2 architectures, 1 epochs each", "| st | 0 | [[", "### Tabular methods on the table",
                 "### A cell searched on a proxy",
                 "![regret curves](results/bench_cell_regret.png)"):
        assert part in bench_md, part
    assert (d / "exp" / "tiny_bench" / "results" / "bench_cell_regret.png").stat().st_size > 0
    scores = json.loads((d / "exp" / "tiny_bench" / "search" / "cell_st_seed0" / "score" / "scores.json").read_text())
    assert [x["id"] for x in scores["scores"]] == ["cell_000", "cell_001"]
