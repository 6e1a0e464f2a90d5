"""The MNIST sample judge (genmod.judge), trained on the offline file and cached."""

import json

import numpy as np
import pytest

# every test needs the judge: trained once per test cache (about a minute), then loaded
pytestmark = pytest.mark.slow


def test_judge_is_kept_in_the_test_cache_with_its_provenance(judge_and_data, judge_data_dir):
    from genmod.judge import cache_folder

    judge, _ = judge_and_data
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENMOD_DATA", str(judge_data_dir))
        folder = cache_folder()
    assert folder == judge_data_dir / "judge"
    records = [json.loads(p.read_text()) for p in folder.glob("judge-*.json")]
    assert any(r["metrics"]["judge_test_accuracy"] == judge.test_accuracy for r in records)


def test_judge_test_accuracy(judge_and_data):
    judge, ((_, _), (x_test, y_test)) = judge_and_data
    assert judge.test_accuracy > 0.95
    pred = judge.predict_proba(x_test / 255.0).argmax(1)
    assert (pred == y_test).mean() == pytest.approx(judge.test_accuracy, abs=1e-9)


def test_judge_scores_real_digits_well_and_noise_badly(judge_and_data):
    judge, ((x_train, _), _) = judge_and_data
    real = judge.score(x_train[:1000] / 255.0)
    assert real["classes_with_2pct"] == 10
    assert real["mean_confidence"] > 0.9
    assert abs(sum(real["class_histogram"]) - 1.0) < 1e-3
    noise = judge.score(np.random.default_rng(0).random((1000, 28, 28)))
    assert noise["frechet_distance"] > 10 * real["frechet_distance"]
    # a collapsed generator that draws one digit over and over covers one class
    ones = judge.score(np.repeat(x_train[:1] / 255.0, 200, axis=0))
    assert ones["classes_with_2pct"] == 1


def test_judge_rejects_wrong_range(judge_and_data):
    judge, ((x_train, _), _) = judge_and_data
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        judge.score(x_train[:10].astype(np.float32))  # 0..255, not rescaled
    with pytest.raises(ValueError, match="shape"):
        judge.score(np.zeros((4, 32, 32), np.float32))
