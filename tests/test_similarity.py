"""`course similarity`: a copied pair ranks first among honest students, given code never counts,
hostile text is escaped and broken notebooks are skipped by name."""
import json
import os

import numpy as np
import pytest

from conftest import course_command
from grader.authoring.sample_class import fill
from grader.pipeline.assignments import select
from grader.pipeline.coursedir import CourseDir
from grader.reference import gradient_descent as reference
from grader.reports import similarity
from grader.reports.similarity import Answer, UnreadableNotebook, class_answers, rank_pairs, read_answers

ASSIGNMENT = select(["01_gradient_descent"])[0]
PLACEHOLDER = "    # YOUR CODE HERE\n    raise NotImplementedError()"

# Four honest students, each with their own correct body for every function (vectorised,
# loops, NumPy calls, einsum), and eli, who copied ben and renamed variables and comments.
BODIES = {
    "ana": {
        "mse_loss_grad": """\
    residual = X @ w - y
    loss = float(np.mean(residual ** 2))
    grad = 2.0 / len(y) * X.T @ residual
    return loss, grad""",
        "gd_step": "    return w - lr * grad",
        "minibatch_indices": """\
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]""",
        "momentum_step": """\
    velocity_new = beta * velocity + grad
    return w - lr * velocity_new, velocity_new""",
        "nesterov_step": """\
    velocity_new = beta * velocity + grad
    return w - lr * (grad + beta * velocity_new), velocity_new""",
        "why_learning_rate": "The gradient only says which way is downhill near w, not how far to go: on a "
                             "steep quadratic a full step overshoots and the iterates blow up.",
    },
    "ben": {
        "mse_loss_grad": """\
    n, d = X.shape
    total = 0.0
    gradient = np.zeros(d)
    # loop over the samples
    for i in range(n):
        prediction = 0.0
        for j in range(d):
            prediction += X[i, j] * w[j]
        error = prediction - y[i]
        total += error * error
        # accumulate the gradient of this sample
        for j in range(d):
            gradient[j] += 2 * error * X[i, j] / n
    return total / n, gradient""",
        "gd_step": """\
    new_w = w.copy()
    new_w -= lr * grad
    return new_w""",
        "minibatch_indices": """\
    indices = np.arange(n)
    rng.shuffle(indices)
    batches = []
    start = 0
    # cut the shuffled indices into batches
    while start < n:
        batches.append(indices[start:start + batch_size])
        start += batch_size
    return batches""",
        "momentum_step": """\
    v = velocity * beta
    v = v + grad
    w_next = w.copy()
    w_next = w_next - lr * v
    return w_next, v""",
        "nesterov_step": """\
    v = velocity * beta
    v = v + grad
    look_ahead = grad + beta * v
    w_next = w.copy()
    w_next = w_next - lr * look_ahead
    return w_next, v""",
        "why_learning_rate": "Its size depends on the curvature and units, so stepping by it can jump over "
                             "the minimum; the learning rate scales it to a distance we trust.",
    },
    "cleo": {
        "mse_loss_grad": """\
    predictions = np.dot(X, w)
    errors = predictions - y
    n_samples = X.shape[0]
    return float(np.sum(errors ** 2) / n_samples), np.dot(errors, X) * (2 / n_samples)""",
        "gd_step": """\
    step = lr * np.asarray(grad)
    return np.subtract(w, step)""",
        "minibatch_indices": """\
    shuffled = rng.permutation(n)
    return np.array_split(shuffled, np.arange(batch_size, n, batch_size))""",
        "momentum_step": """\
    new_velocity = np.add(beta * velocity, grad)
    return np.subtract(w, lr * new_velocity), new_velocity""",
        "nesterov_step": """\
    new_velocity = np.add(beta * velocity, grad)
    direction = np.add(grad, beta * new_velocity)
    return np.subtract(w, lr * direction), new_velocity""",
        "why_learning_rate": "A raw gradient step of size one is only right when the curvature is exactly "
                             "one. Otherwise we oscillate or diverge.",
    },
    "dev": {
        "mse_loss_grad": """\
    r = np.einsum("nd,d->n", X, w) - y
    m = r.size
    return float(r @ r) / m, 2 * np.einsum("nd,n->d", X, r) / m""",
        "gd_step": "    return w + (-lr) * grad",
        "minibatch_indices": """\
    perm = rng.choice(n, size=n, replace=False)
    result = []
    for b in range(0, n, batch_size):
        result.append(perm[b:min(b + batch_size, n)])
    return result""",
        "momentum_step": """\
    velocity_next = grad + velocity * beta
    step = lr * velocity_next
    return w - step, velocity_next""",
        "nesterov_step": """\
    velocity_next = grad + velocity * beta
    step = lr * (beta * velocity_next + grad)
    return w - step, velocity_next""",
        "why_learning_rate": "Gradients have the wrong units for a step. With curvature c, w is multiplied "
                             "by 1 - lr c each step, which must stay below 1 in size.",
    },
}
BODIES["eli"] = {
    "mse_loss_grad": """\
    rows, cols = X.shape
    acc = 0.0
    g = np.zeros(cols)
    # go through every example
    for k in range(rows):
        pred = 0.0
        for c in range(cols):
            pred += X[k, c] * w[c]
        diff = pred - y[k]
        acc += diff * diff
        # add this example's part
        for c in range(cols):
            g[c] += 2 * diff * X[k, c] / rows
    return acc / rows, g""",
    "gd_step": """\
    updated = w.copy()
    updated -= lr * grad
    return updated""",
    "minibatch_indices": """\
    idx = np.arange(n)
    rng.shuffle(idx)
    out = []
    pos = 0
    # split into chunks
    while pos < n:
        out.append(idx[pos:pos + batch_size])
        pos += batch_size
    return out""",
    "momentum_step": """\
    vel = velocity * beta
    vel = vel + grad
    new = w.copy()
    new = new - lr * vel
    return new, vel""",
    "nesterov_step": """\
    vel = velocity * beta
    vel = vel + grad
    ahead = grad + beta * vel
    new = w.copy()
    new = new - lr * ahead
    return new, vel""",
    "why_learning_rate": "The step must be scaled: the gradient is a slope, and its size says nothing about a "
                         "safe distance to move.",
}
HONEST = ["ana", "ben", "cleo", "dev"]
SIGNATURES = {"mse_loss_grad": "(w, X, y)", "gd_step": "(w, grad, lr)", "minibatch_indices": "(n, batch_size, rng)",
              "momentum_step": "(w, grad, velocity, lr, beta)", "nesterov_step": "(w, grad, velocity, lr, beta)"}
HOSTILE_ID = "<img src=x onerror=alert(1)>"
HOSTILE_ANSWER = "    x = '</pre><script>alert(1)</script>'\n    return x + lr * grad\n" * 3


def release_path(course):
    return course.path("release", ASSIGNMENT.name, ASSIGNMENT.notebook)


def answers_of(student: str, release: dict) -> dict:
    """The release's answer cells with the student's bodies in place of the placeholder."""
    bodies = BODIES[student]
    return {grade_id: answer.source.replace(PLACEHOLDER, bodies[grade_id]) if PLACEHOLDER in answer.source
            else bodies[grade_id] for grade_id, answer in release.items()}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A released class: the four honest students, eli (ben's copy), two blank notebooks and
    notebooks that cannot be compared: too large, not JSON, broken metadata, links to ana's, a FIFO."""
    course = CourseDir(tmp_path_factory.mktemp("similarity") / "class").create()
    course.generate(ASSIGNMENT)
    release = read_answers(release_path(course))

    def submission(student):
        return course.path("submitted", student, ASSIGNMENT.name, ASSIGNMENT.notebook)

    for student in BODIES:
        fill(release_path(course), answers_of(student, release), submission(student))
    for student in ("blank1", "blank2"):
        fill(release_path(course), {}, submission(student))
    fill(release_path(course), {"gd_step": "x = 1\n" * 20_000}, submission("huge"))
    submission("garbled").parent.mkdir(parents=True)
    submission("garbled").write_text('{"cells": [')
    submission("linked").parent.mkdir(parents=True)
    submission("linked").symlink_to(submission("ana"))
    course.path("submitted", "linked_folder").symlink_to(course.path("submitted", "ana"))
    submission("fifo").parent.mkdir(parents=True)
    os.mkfifo(submission("fifo"))
    submission("broken_meta").parent.mkdir(parents=True)
    submission("broken_meta").write_text(json.dumps({"cells": [{"metadata": {"nbgrader": {"solution": True,
                                                                                           "grade_id": ["x"]}}}]}))
    return course


def test_every_honest_implementation_is_correct():
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=3)
    grad, velocity = rng.normal(size=3), rng.normal(size=3)
    for student in HONEST + ["eli"]:
        space = {"np": np}
        for grade_id, body in BODIES[student].items():
            if grade_id != "why_learning_rate":
                exec(f"def {grade_id}{SIGNATURES[grade_id]}:\n{body}\n", space)
        loss, g = space["mse_loss_grad"](w, X, y)
        want_loss, want_g = reference.mse_loss_grad(w, X, y)
        assert np.isclose(loss, want_loss) and np.allclose(g, want_g), student
        assert np.allclose(space["gd_step"](w, grad, 0.1), reference.gd_step(w, grad, 0.1)), student
        for name in ("momentum_step", "nesterov_step"):
            assert np.allclose(space[name](w, grad, velocity, 0.1, 0.9),
                               getattr(reference, name)(w, grad, velocity, 0.1, 0.9)), (student, name)
        batches = space["minibatch_indices"](10, 3, np.random.default_rng(0))
        assert [len(b) for b in batches] == [3, 3, 3, 1], student
        assert sorted(np.concatenate(batches).tolist()) == list(range(10)), student


def test_the_copied_pair_ranks_first_and_blank_work_shares_nothing(course):
    answers, skipped = class_answers(course, ASSIGNMENT)
    pairs = rank_pairs(read_answers(release_path(course)), answers)
    scores = {p.students: p.score for p in pairs}
    assert pairs[0].students == ("ben", "eli")
    honest = [score for students, score in scores.items() if set(students) <= set(HONEST)]
    assert pairs[0].score > 0.6 > max(honest) + 0.4, scores
    assert {m.exercise for m in pairs[0].exercises} >= {"mse_loss_grad", "minibatch_indices", "nesterov_step"}
    copied = {m.exercise: m for m in pairs[0].exercises}["mse_loss_grad"]
    assert any("for k in range(rows)" in text for text, kind in copied.right if kind == "shared")
    assert any("Mean squared error" in text for text, kind in copied.left if kind == "given")
    assert not any("Mean squared error" in text for text, kind in copied.left if kind == "shared")
    assert not [students for students in scores if {"blank1", "blank2"} & set(students)], scores
    reasons = {name.split("/")[1]: why for name, why in skipped}
    assert {name for name, _ in skipped} == {f"submitted/{s}/{ASSIGNMENT.name}/{ASSIGNMENT.notebook}" for s in reasons}
    assert reasons == {"huge": "answer 'gd_step' is longer than 100000 characters",
                       "garbled": "not a readable notebook (JSONDecodeError)",
                       "broken_meta": "an answer cell without a text grade_id and source",
                       "linked": "a link or special file, not read", "fifo": "a link or special file, not read",
                       "linked_folder": "in a linked folder, not read"}


def test_the_release_alone_is_no_similarity(course):
    release = read_answers(release_path(course))
    assert rank_pairs(release, {"a": release, "b": release, "c": {}}) == []


@pytest.mark.parametrize("text, why", [
    ('{"cells": [', "not a readable notebook"),
    ("[1, 2]", "no list of cells"),
    ('{"cells": {"a": 1}}', "no list of cells"),
    ('{"cells": [1, {"metadata": []}, {"metadata": {"nbgrader": {"solution": true, "grade_id": 3}}}]}',
     "without a text grade_id"),
    ("[" * 100_000, "not a readable notebook"),
])
def test_a_notebook_that_cannot_be_read_says_why(tmp_path, text, why):
    path = tmp_path / "n.ipynb"
    path.write_text(text)
    with pytest.raises(UnreadableNotebook, match=why):
        read_answers(path)


def test_a_huge_notebook_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(similarity, "MAX_NOTEBOOK_BYTES", 1000)
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": [], "padding": "x" * 2000}))
    with pytest.raises(UnreadableNotebook, match="larger than"):
        read_answers(path)


def test_course_similarity_prints_the_ranking_and_writes_an_escaped_page(course):
    printed = course_command("similarity", course.root, ASSIGNMENT.name, "--top", "3")
    lines = printed.splitlines()
    first = lines[lines.index(next(line for line in lines if line.strip().startswith("rank"))) + 1]
    assert first.split()[:5] == ["1", first.split()[1], "ben", "~", "eli"]
    assert "mse_loss_grad" in first
    for name in ("huge", "garbled", "broken_meta", "linked", "linked_folder", "fifo"):
        assert f"submitted/{name}/{ASSIGNMENT.name}/{ASSIGNMENT.notebook}" in printed
    page = (course.root / "course_grade" / f"similarity_{ASSIGNMENT.name}.html").read_text()
    assert "<mark>" in page and "ben and eli" in page and "garbled" in page


def test_the_page_escapes_student_ids_and_answers(course, tmp_path):
    release = read_answers(release_path(course))
    hostile = Answer(release["gd_step"].source.replace(PLACEHOLDER, HOSTILE_ANSWER), markdown=False)
    pairs = rank_pairs(release, {HOSTILE_ID: {"gd_step": hostile}, "copier": {"gd_step": hostile}})
    assert [p.students for p in pairs] == [("<img src=x onerror=alert(1)>", "copier")]
    page = similarity.write_html(tmp_path / "page.html", ASSIGNMENT.name, pairs, 2,
                                 skipped=[("<script>x</script>", "<b>why</b>")]).read_text()
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;/pre&gt;&lt;script&gt;" in page
