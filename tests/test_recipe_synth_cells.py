"""egs/synth's tiny run with NAS-Bench-ASR's cell space: ST-NAS over its tied blocks (stages 4-8), the
derived cell retrained one cell deeper per stage (He et al.: search small, stack deep)."""
import json
import re

from test_recipe_synth import tiny_recipe_with_data


def test_tiny_cell_space_search_and_deeper_retraining(run, tmp_path):
    d = tiny_recipe_with_data(run, tmp_path)
    one_epoch = []               # what is checked here is the plumbing, not training: one epoch of search
    for stage in ("search", "retrain"):              # and retraining (the warm-up needs its anchor epoch)
        conf = d / f"{stage}_1epoch.yaml"
        conf.write_text((d / "conf" / "tiny" / f"{stage}.yaml").read_text().replace(
            f"max_epochs: {3 if stage == 'retrain' else 2}", "max_epochs: 1"))
        assert "max_epochs: 1" in conf.read_text()
        one_epoch += [f"--{stage}-config", str(conf)]
    r = run(str(d / "run.sh"), "--tiny", "true", "--space", "nb_asr_small", "--stage", "4", "--stop-stage", "8",
            "--retrain-space-params", "cells=[1,1,2,2]", *one_epoch)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    exp = d / "exp" / "tiny_nb_asr_small_nas_st_seed0"
    derived = json.loads((exp / "derive" / "arch.json").read_text())
    assert sorted(derived["choices"]) == sorted(["op1", "op2", "op3", "s1_0", "s2_0", "s2_1", "s3_0", "s3_1", "s3_2"])
    assert derived["space"]["params"]["cells"] == [1, 1, 1, 1]
    retrained = json.loads((exp / "retrain_cells=1-1-2-2" / "arch.json").read_text())
    assert retrained["choices"] == derived["choices"] and retrained["space"]["params"]["cells"] == [1, 1, 2, 2]
    assert re.search(r"^test WER \(tiny_nb_asr_small_nas_st_seed0, ctc-crf; LM weight [\d.]+ chosen on dev\): %WER",
                     r.stdout, re.M), r.stdout[-3000:]

