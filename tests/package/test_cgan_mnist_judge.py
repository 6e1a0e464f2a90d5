r"""The judge's score for conditional generators (genmod.judge.classifier.requested_class_scores,
Judge.score_conditional, genmod.judge.judge_conditional_samples and its command line), used by
book/gans/cgan_mnist_tf.

- exact counts: on hand-made probabilities every per-class accuracy and every entry of the
  confusion matrix is a ratio of counts that the test enumerates;
- real digits as a "perfect generator": test digits requested as their true class give the
  judge's own test accuracy, class by class; the same digits requested as the wrong class
  give an accuracy near 0;
- a generator that ignores the label: real digits with labels drawn independently of them
  give per-class accuracies equal, within the binomial error, to the share of each class,
  about 0.1: the chance level against which a conditional generator is judged;
- the command line (the path TensorFlow notebooks take) returns the same numbers.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genmod.judge.classifier import requested_class_scores



def test_requested_class_scores_are_the_counts():
    rng = np.random.default_rng(0)
    n = 500
    requested = rng.integers(0, 10, size=n)
    judged = np.where(rng.random(n) < 0.7, requested, rng.integers(0, 10, size=n))
    probs = rng.dirichlet(np.ones(10), size=n) * 0.5
    probs[np.arange(n), judged] += 0.5  # the largest probability is the judged class
    out = requested_class_scores(probs, requested)
    for c in range(10):
        mask = requested == c
        assert out["requested_counts"][c] == mask.sum()
        share = (judged[mask] == c).mean()
        assert out["requested_class_accuracy"][c] == pytest.approx(share, abs=5e-5)
        for c2 in range(10):
            share = (judged[mask] == c2).mean()
            assert out["requested_confusion"][c][c2] == pytest.approx(share, abs=5e-5)
    assert out["requested_accuracy"] == pytest.approx((judged == requested).mean(), abs=1e-12)
    assert np.allclose(np.sum(out["requested_confusion"], axis=1), 1.0, atol=1e-3)


def test_a_class_never_requested_is_nan_not_zero():
    probs = np.eye(10)[[3, 3, 5]]
    out = requested_class_scores(probs, np.array([3, 3, 4]))
    acc = np.array(out["requested_class_accuracy"])
    assert acc[3] == 1.0 and acc[4] == 0.0
    assert np.isnan(np.delete(acc, [3, 4])).all()
    assert out["requested_counts"] == [0, 0, 0, 2, 1, 0, 0, 0, 0, 0]
    assert out["requested_accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "probs, requested, match",
    [
        (np.full((4, 9), 1 / 9), np.zeros(4, int), r"\(N, 10\)"),
        (np.full((4, 10), np.nan), np.zeros(4, int), "finite"),
        (np.full((4, 10), 0.1), np.zeros(3, int), "4 requested classes"),
        (np.full((4, 10), 0.1), np.array([0, 1, 2, 10]), "0..9"),
        (np.full((4, 10), 0.1), np.array([0, 1, 2, -1]), "0..9"),
        (np.full((4, 10), 0.1), np.array([0.0, 1.5, 2.0, 3.0]), "integers"),
        (np.full((4, 10), 0.1), np.array(["0", "1", "2", "3"]), "integers"),
    ],
)
def test_requested_class_scores_reject_bad_input(probs, requested, match):
    with pytest.raises(ValueError, match=match):
        requested_class_scores(probs, requested)


@pytest.mark.slow
def test_real_digits_with_their_labels_score_the_judges_test_accuracy(judge_and_data):
    judge, (_, (x_test, y_test)) = judge_and_data
    x = x_test / 255.0
    out = judge.score_conditional(x, y_test)
    assert out["requested_accuracy"] == pytest.approx(judge.test_accuracy, abs=1e-9)
    pred = judge.predict_proba(x).argmax(1)
    for c in range(10):
        share = (pred[y_test == c] == c).mean()
        assert out["requested_class_accuracy"][c] == pytest.approx(share, abs=5e-5)
    assert min(out["requested_class_accuracy"]) > 0.9
    # the same digits requested as the next class: the judge almost never agrees
    wrong = judge.score_conditional(x, (y_test + 1) % 10)
    assert wrong["requested_accuracy"] < 0.02
    # and the unconditional scores are those of Judge.score
    plain = judge.score(x)
    assert out["frechet_distance"] == pytest.approx(plain["frechet_distance"], rel=1e-9)
    assert out["class_histogram"] == plain["class_histogram"]


@pytest.mark.slow
def test_labels_independent_of_the_digits_give_the_class_shares(judge_and_data):
    r"""A generator that ignores its label: acc_c = pi_c, the share of class c among its digits."""
    judge, (_, (x_test, _)) = judge_and_data
    x = x_test[:5000] / 255.0
    rng = np.random.default_rng(1)
    requested = rng.integers(0, 10, size=len(x))  # independent of the digits
    out = judge.score_conditional(x, requested)
    share = np.bincount(judge.predict_proba(x).argmax(1), minlength=10) / len(x)  # pi_c
    counts = np.array(out["requested_counts"])
    se = np.sqrt(share * (1 - share) / counts)  # binomial standard error of each acc_c
    z = (np.array(out["requested_class_accuracy"]) - share) / se
    assert np.abs(z).max() < 4.0, z
    assert out["requested_accuracy"] == pytest.approx(0.1, abs=0.02)


@pytest.mark.slow
def test_command_line_gives_the_conditional_scores(judge_and_data, judge_data_dir, mnist_file,
                                                   tmp_path):
    judge, (_, (x_test, y_test)) = judge_and_data
    x, y = (x_test[:300] / 255.0).astype(np.float32), y_test[:300]
    np.savez(tmp_path / "samples.npz", images=x, requested=y)
    env = {**os.environ, "GENMOD_MNIST": str(mnist_file), "GENMOD_DATA": str(judge_data_dir)}
    run = subprocess.run([sys.executable, "-m", "genmod.judge", str(tmp_path / "samples.npz"),
                          "--json", str(tmp_path / "out.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    direct = judge.score_conditional(x, y)
    assert out["requested_class_accuracy"] == direct["requested_class_accuracy"]
    assert out["requested_accuracy"] == pytest.approx(direct["requested_accuracy"], abs=1e-12)
    assert len(out["real_requested_class_accuracy"]) == 10
    assert min(out["real_requested_class_accuracy"]) > 0.9
    assert "requested class found in" in run.stdout


@pytest.mark.slow
def test_judge_conditional_samples_checks_the_labels_first(judge_and_data):
    from genmod.judge import judge_conditional_samples

    with pytest.raises(ValueError, match="one requested class per digit"):
        judge_conditional_samples(np.zeros((5, 28, 28), np.float32), np.zeros(4, int),
                                  verbose=False)
    with pytest.raises(ValueError, match="0..9"):
        judge_conditional_samples(np.zeros((2, 28, 28), np.float32), np.array([0, 12]),
                                  verbose=False)
