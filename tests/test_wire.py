"""The plain-data wire between the grading process and a grading kernel: exact round trips,
and every malformed or hostile message refused before its data is touched."""
import json

import numpy as np
import pytest

from course_lib.checks.generalization_cv import recording_model, squared_error
from course_lib.wire import Handle, Recipe, WireError, decode, encode


def message(tree, arrays=(), data=b""):
    header = json.dumps({"tree": tree, "arrays": list(arrays)}).encode()
    return len(header).to_bytes(4, "big") + header + data


def deep_tree(depth: int) -> bytes:
    header = ('{"tree": ' + '{"list": [' * depth + "]}" * depth + ', "arrays": []}').encode()
    return len(header).to_bytes(4, "big") + header


def test_values_come_back_as_they_were_sent():
    rng = np.random.default_rng(5)
    value = {"w": np.arange(6.0).reshape(2, 3), "f32": np.ones(3, np.float32), "i": np.arange(4),
             "flags": np.array([True, False]), "empty": np.zeros((0, 3)), "zero_d": np.array(2.5),
             "scalars": (np.float32(1.5), np.int64(7), 3, 2.5, float("nan"), float("inf"), None, True, "text"),
             "nested": [[np.eye(2)], {"k": (1, 2)}], "rng": rng, "handle": Handle(3, "dict"),
             "big_endian": np.arange(3, dtype=">f8"), "strided": np.arange(10)[::3]}
    back = decode(encode(value))
    assert back.keys() == value.keys()
    for key in ("w", "f32", "i", "flags", "empty", "zero_d", "strided"):
        assert back[key].dtype == value[key].dtype and back[key].shape == value[key].shape
        assert np.array_equal(back[key], value[key])
    assert np.array_equal(back["big_endian"], value["big_endian"])
    assert type(back["scalars"][0]) is np.float32 and type(back["scalars"][1]) is np.int64
    assert back["scalars"][2:4] == (3, 2.5) and np.isnan(back["scalars"][4]) and back["scalars"][5:] == (
        float("inf"), None, True, "text")
    assert isinstance(back["nested"], list) and isinstance(back["nested"][1]["k"], tuple)
    assert back["rng"].integers(1000) == rng.integers(1000)
    assert back["handle"] == Handle(3, "dict")


def test_course_lib_functions_and_recipes_are_rebuilt_only_where_asked():
    log = []
    sent = encode({"loss": squared_error, "fit": Recipe(recording_model, {"X_all": np.zeros((2, 2)),
                                                                          "y_all": np.zeros(2)}, log)})
    with pytest.raises(WireError):
        decode(sent)                          # the grading process never rebuilds callables
    logs = []
    rebuilt = decode(sent, functions=True, logs=logs)
    assert rebuilt["loss"] is squared_error and callable(rebuilt["fit"]) and logs == [rebuilt["fit"].log]
    with pytest.raises(WireError):
        encode({"other": np.mean})            # only course_lib functions travel
    with pytest.raises(WireError):
        decode(message({"function": "os:system"}), functions=True)


@pytest.mark.parametrize("entry, data, why", [
    (["|O", [1], 0, 8], b"\0" * 8, "object arrays"),
    (["<c16", [1], 0, 16], b"\0" * 16, "complex"),
    (["<f8", [10**12], 0, 8], b"\0" * 8, "a shape larger than the data"),
    (["<f8", [2], 4, 16], b"\0" * 16, "an extent past the end"),
    (["<f8", [-1], 0, 8], b"\0" * 8, "a negative dimension"),
    (["<f8", [1] * 40, 0, 8], b"\0" * 8, "too many dimensions"),
    (["<f8", "x", 0, 8], b"\0" * 8, "a shape that is not a list"),
])
def test_arrays_that_do_not_fit_their_declaration_are_refused(entry, data, why):
    with pytest.raises(WireError):
        decode(message({"array": 0}, [entry], data))


@pytest.mark.parametrize("raw, why", [
    (b"\0\0", "too short"),
    ((100).to_bytes(4, "big") + b"{}", "a header longer than the message"),
    ((3).to_bytes(4, "big") + b"{x}", "a header that is not JSON"),
    (message({"array": 5}), "a reference to a missing array"),
    (message({"pickle": "..."}), "an unknown node"),
    (message({"list": [], "tuple": []}), "a node with two kinds"),
    (message({"handle": [1, "x"]}, []), None),
    (message({"generator": {"dict": [["bit_generator", "Evil"]]}}), "an unknown bit generator"),
    (message({"dict": [[1, 2]]}), "a key that is not a string"),
    ((100_000).to_bytes(4, "big") + b"[" * 100_000, "deep nesting in JSON"),
    (deep_tree(3000), "a tree nested deeper than Python recurses"),
])
def test_malformed_messages_are_refused(raw, why):
    if why is None:                           # a handle unknown to the kernel is refused there
        assert decode(raw) == Handle(1, "x")
        with pytest.raises(WireError):
            decode(raw, functions=True, handles={})
        return
    with pytest.raises(WireError):
        decode(raw)


def test_a_recipe_shares_its_log_when_the_checks_copy_their_arguments():
    import copy

    recipe = Recipe(recording_model, {"X_all": np.zeros((2, 2)), "y_all": np.zeros(2)})
    assert copy.deepcopy({"fit": recipe})["fit"] is recipe
