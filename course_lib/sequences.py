"""Sequence tasks and a training loop for the recurrent networks of assignment 06.

Nothing here implements a graded function: the loop takes *your* rnn_forward, rnn_backward
(and optionally a clipping function) as arguments; your lstm_forward and lstm_backward, which
have the same signatures, fit it too, with the parameters of `init_lstm`. What lives here is the scaffolding around
them: a synthetic task, the parameters' initial values (the scale of the input weights is yours
to choose), the linear read-out on the last hidden state with its squared-error loss, and the
update rule.
"""
import numpy as np


def make_memory_task(n: int, T: int, rng: np.random.Generator, noise: float = 0.2):
    """A many-to-one task that needs a memory of T steps.

    Each sequence starts with a random sign s = +-1 (x[:, 0, 0]); the next T - 1 inputs are
    distractors, noise * standard normal. The target, read after the last step, is s.
    Returns x of shape (n, T, 1) and y of shape (n, 1). Predicting 0 gives a loss of 1.
    """
    x = noise * rng.standard_normal((n, T, 1))
    sign = rng.choice([-1.0, 1.0], size=(n, 1))
    x[:, 0] = sign
    return x, sign


def orthogonal(H: int, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """A random orthogonal (H, H) matrix times `gain`: every singular value equals gain."""
    q, r = np.linalg.qr(rng.standard_normal((H, H)))
    return gain * q * np.sign(np.diag(r))


def spectral_radius(W: np.ndarray) -> float:
    """The largest absolute eigenvalue of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def init_rnn(D: int, H: int, rng: np.random.Generator, input_std: float, recurrent: str = "orthogonal",
             gain: float = 1.0):
    """Parameters of an RNN with a linear read-out to one output.

    input_std: the standard deviation of the entries of Wx. recurrent: "orthogonal" (orthogonal
    matrix times gain), "gaussian" (entries N(0, gain**2 / H), spectral radius about gain) or
    "small" (entries N(0, 0.01**2)). The read-out Wy has entries N(0, 1 / H).
    Returns a dict with Wx (D, H), Wh (H, H), b (H,), Wy (H, 1), by (1,).
    """
    if recurrent == "orthogonal":
        Wh = orthogonal(H, rng, gain)
    elif recurrent == "gaussian":
        Wh = rng.standard_normal((H, H)) * gain / np.sqrt(H)
    elif recurrent == "small":
        Wh = 0.01 * rng.standard_normal((H, H))
    else:
        raise ValueError(f"unknown recurrent initialisation {recurrent!r}")
    Wx = input_std * rng.standard_normal((D, H))
    return {"Wx": Wx, "Wh": Wh, "b": np.zeros(H), "Wy": _readout(H, rng), "by": np.zeros(1)}


def _readout(H: int, rng: np.random.Generator) -> np.ndarray:
    """Read-out weights (H, 1) with entries N(0, 1 / H)."""
    return rng.standard_normal((H, 1)) / np.sqrt(H)


def readout_loss(h_last, y, Wy, by):
    """Linear read-out y_hat = h_last @ Wy + by and loss mean((y_hat - y)**2).

    Returns (loss, dh_last, dWy, dby): the loss and its gradients.
    """
    residual = h_last @ Wy + by - y
    loss = float(np.mean(residual**2))
    dy = 2.0 * residual / residual.size
    return loss, dy @ Wy.T, h_last.T @ dy, dy.sum(axis=0)


def many_to_one_gradients(rnn_forward, rnn_backward, params, x, y, truncate=None):
    """Loss and gradients (dict like params) of the read-out of the last hidden state.

    With truncate=k, the gradient flows back through the last k steps only: the forward pass runs
    over the whole sequence, then the last k steps are run again from the state before them,
    treated as a constant, and only that window is backpropagated.
    """
    N, T, _ = x.shape
    h0 = np.zeros((N, params["Wh"].shape[0]))
    h, cache = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    if truncate is not None and truncate < T:
        start = h[:, T - truncate - 1]
        h_window, cache = rnn_forward(x[:, T - truncate:], start, params["Wx"], params["Wh"], params["b"])
        h = h_window
    loss, dh_last, dWy, dby = readout_loss(h[:, -1], y, params["Wy"], params["by"])
    dh = np.zeros_like(h)
    dh[:, -1] = dh_last
    _, _, dWx, dWh, db = rnn_backward(dh, cache)
    return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}


def train_many_to_one(rnn_forward, rnn_backward, params, batches, steps: int, lr: float,
                      momentum: float = 0.9, clip=None, truncate=None):
    """Train an RNN with a linear read-out by SGD with momentum.

    batches(step) -> (x, y) gives the data of each step; clip(list of gradients) -> list (for
    example lambda g: clip_grad_norm(g, 1.0)) is applied before each update when given.
    Returns (params, history) where history holds the per-step "loss" and the global gradient
    norm before clipping, "grad_norm". A run whose loss overflows stops early.
    """
    params = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    names = list(params)
    history = {"loss": [], "grad_norm": []}
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            x, y = batches(step)
            loss, grads = many_to_one_gradients(rnn_forward, rnn_backward, params, x, y, truncate)
            norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
            if not (np.isfinite(loss) and np.isfinite(norm)):
                break
            history["loss"].append(loss)
            history["grad_norm"].append(norm)
            if clip is not None:
                grads = dict(zip(names, clip([grads[k] for k in names])))
            for k in names:
                velocity[k] = momentum * velocity[k] + grads[k]
                params[k] = params[k] - lr * velocity[k]
    return params, {k: np.array(v) for k, v in history.items()}


def evaluate(rnn_forward, params, x, y) -> float:
    """The read-out loss of params on (x, y)."""
    h0 = np.zeros((x.shape[0], params["Wh"].shape[0]))
    h, _ = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    return readout_loss(h[:, -1], y, params["Wy"], params["by"])[0]


def gradient_errors(analytic, numeric):
    """Normwise relative error of an analytic gradient against a numerical one, and where.

    Returns (error, index): error = max |analytic - numeric| / max |numeric|, index = the
    position of the largest absolute difference (a tuple).
    """
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    diff = np.abs(analytic - numeric)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    scale = max(float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
    return float(np.max(diff, initial=0.0) / scale), tuple(int(i) for i in index)


def init_lstm(D: int, H: int, rng: np.random.Generator, input_std: float, forget_bias: float = 1.0):
    """Parameters of an LSTM with a linear read-out to one output.

    The gates are stacked along the 4H axis in the order input, forget, output, candidate:
    Wx (D, 4H) with entries N(0, input_std**2), Wh (H, 4H) made of four orthogonal (H, H) blocks,
    b (4H,) zero except the forget gate's block b[H:2H] = forget_bias; Wy (H, 1), by (1,) as in
    init_rnn. The same dict works with train_many_to_one, many_to_one_gradients and evaluate.
    """
    Wx = input_std * rng.standard_normal((D, 4 * H))
    Wh = np.concatenate([orthogonal(H, rng) for _ in range(4)], axis=1)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return {"Wx": Wx, "Wh": Wh, "b": b, "Wy": _readout(H, rng), "by": np.zeros(1)}


def input_gradient_by_distance(forward, backward, params, x, rng: np.random.Generator):
    """How much gradient reaches each input from a random gradient on the last hidden state.

    Runs forward(x, h0 = 0, Wx, Wh, b), puts a standard normal gradient on h[:, -1] only, runs
    backward and returns (distance, ratio): distance T - 1 - t of each step t from the last one,
    and |dL/dx_t| / |dL/dx_T| (norms over the batch and the input dimension).
    """
    N, T, _ = x.shape
    h, cache = forward(x, np.zeros((N, params["Wh"].shape[0])), params["Wx"], params["Wh"], params["b"])
    dh = np.zeros_like(h)
    dh[:, -1] = rng.standard_normal(dh[:, -1].shape)
    norms = np.linalg.norm(backward(dh, cache)[0], axis=(0, 2))
    return np.arange(T)[::-1], norms / norms[-1]
