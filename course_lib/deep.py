"""Scaffolding for assignment 07 (training deep networks): a loss, flat parameter vectors, a loop.

Nothing here is a graded function. Every network is run by *your* mlp_forward and mlp_backward,
initialised by *your* init functions and stepped by the update rule and the learning rate (a
number or *your* schedule) that the notebook passes in. What lives here is the plumbing around
them: the softmax cross-entropy on the network's output, the packing of all weights and biases
into one vector (what sharpness and power iteration need), and the training loop.
"""
import numpy as np

from course_lib.mlp import softmax_cross_entropy, one_hot


def cross_entropy(logits, y):
    """Mean softmax cross-entropy of logits (N, K) against integer labels y (N,), and its gradient dlogits."""
    return softmax_cross_entropy(logits, one_hot(y, logits.shape[1]))


def init_network(sizes, init, rng: np.random.Generator):
    """Weights init(sizes[l], sizes[l + 1], rng) for each layer and zero biases: (weights, biases) lists."""
    weights = [init(fan_in, fan_out, rng) for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    return weights, [np.zeros(fan_out) for fan_out in sizes[1:]]


def layer_gradient_norms(mlp_forward, mlp_backward, weights, biases, activation, X, y) -> np.ndarray:
    """The Frobenius norm of the cross-entropy's gradient w.r.t. each layer's weights, first layer first."""
    logits, cache = mlp_forward(X, weights, biases, activation)
    _, dlogits = cross_entropy(logits, y)
    _, dweights, _ = mlp_backward(dlogits, cache)
    return np.array([np.linalg.norm(dW) for dW in dweights])


class FlatNetwork:
    """A network of fixed layer shapes seen as a function of one flat parameter vector w.

    w holds every weight matrix and then every bias vector, layer by layer, each flattened
    (`pack` and `unpack` convert). The forward and backward passes are the functions you pass in.
    """

    def __init__(self, mlp_forward, mlp_backward, weights, biases, activation: str):
        self.forward, self.backward, self.activation = mlp_forward, mlp_backward, activation
        self.shapes = [np.shape(W) for W in weights] + [np.shape(b) for b in biases]
        self.layers = len(weights)
        ends = np.cumsum([int(np.prod(shape)) for shape in self.shapes])
        self.slices = [slice(end - int(np.prod(shape)), end) for end, shape in zip(ends, self.shapes)]
        self.size = int(ends[-1])

    def pack(self, weights, biases) -> np.ndarray:
        return np.concatenate([np.ravel(a) for a in (*weights, *biases)]).astype(float)

    def unpack(self, w):
        arrays = [w[part].reshape(shape) for part, shape in zip(self.slices, self.shapes)]
        return arrays[:self.layers], arrays[self.layers:]

    def loss_and_grad(self, w, X, y):
        """The mean cross-entropy at w on (X, y) and its gradient, a vector like w."""
        logits, cache = self.forward(X, *self.unpack(w), self.activation)
        loss, dlogits = cross_entropy(logits, y)
        _, dweights, dbiases = self.backward(dlogits, cache)
        return float(loss), self.pack(dweights, dbiases)

    def loss(self, w, X, y) -> float:
        logits, _ = self.forward(X, *self.unpack(w), self.activation)
        return float(cross_entropy(logits, y)[0])

    def accuracy(self, w, X, y) -> float:
        logits, _ = self.forward(X, *self.unpack(w), self.activation)
        return float(np.mean(np.argmax(logits, axis=1) == y))


def train(net: FlatNetwork, w0, X, y, update, lr, steps: int, rng: np.random.Generator, batch_size: int = None,
          record_every: int = 10, target_loss: float = None):
    """Train from w0 on (X, y) and record the training loss on all of (X, y).

    update(w, grad, state, lr, t) -> (w_new, state_new): the optimiser, applied to the flat vector;
        state starts as None, t counts steps from 1.
    lr: a number, or a function of the step (counted from 0) that returns the rate: a schedule.
    batch_size: examples drawn without replacement from rng at every step; None uses all of them.
    record_every: measure the full training loss every so many steps (and at step 0).
    target_loss: stop as soon as a measured training loss is at or below it.
    Returns (w, history): history["step"] and history["loss"] are arrays; a run whose loss
    overflows stops there, and its last loss is inf.
    """
    w, state = np.array(w0, dtype=float), None
    rate = lr if callable(lr) else (lambda step: lr)
    history = {"step": [], "loss": []}
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            if step % record_every == 0 or step == steps:
                loss = net.loss(w, X, y)
                history["step"].append(step)
                history["loss"].append(loss if np.isfinite(loss) else np.inf)
                if not np.isfinite(loss) or (target_loss is not None and loss <= target_loss):
                    break
            if step == steps:
                break
            batch = slice(None) if batch_size is None else rng.choice(len(X), size=batch_size, replace=False)
            _, grad = net.loss_and_grad(w, X[batch], y[batch])
            w, state = update(w, grad, state, rate(step), step + 1)
    return w, {key: np.array(values) for key, values in history.items()}


def dead_unit_fraction(mlp_forward, weights, biases, X) -> float:
    """The fraction of hidden units of a ReLU network that are zero on every row of X (they pass no gradient).

    Layer l's pre-activations are the output of the network cut after layer l, whose last layer is linear.
    """
    dead = [np.all(mlp_forward(X, weights[:l + 1], biases[:l + 1], "relu")[0] <= 0, axis=0)
            for l in range(len(weights) - 1)]
    return float(np.mean(np.concatenate(dead)))
