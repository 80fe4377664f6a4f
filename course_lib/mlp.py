"""A small two-layer network and its training loop: the test bed of assignment 05.

Nothing here is a graded function. The loop takes *your* functions as arguments: the
optimizer step, the penalty, dropout, batch normalization and the target transforms
(label smoothing, mixup) are all passed in by the notebook.

The network:  x -> x W1 + b1 -> [batch norm] -> ReLU -> [dropout] -> h W2 + b2 -> softmax,
trained on the cross-entropy with (possibly soft) targets, full batch or on random minibatches.
"""
from dataclasses import dataclass, field

import numpy as np


def make_noisy_rings(n: int, rng: np.random.Generator, extra_dims: int = 3, label_noise: float = 0.1):
    """A disc inside a ring in 2-D, plus `extra_dims` features of pure noise.

    The first two features are standard normal; the label is 1 outside the circle of
    radius sqrt(2 ln 2) (so the classes are balanced), 0 inside. The other features are
    standard normal noise unrelated to the label. A fraction `label_noise` of the labels is
    flipped, so even the perfect model errs on about that fraction: a network that fits every
    training label has memorised noise. Returns X (n, 2 + extra_dims) and labels y (n,).
    """
    X = rng.standard_normal((n, 2 + extra_dims))
    y = (np.sum(X[:, :2] ** 2, axis=1) > 2 * np.log(2)).astype(int)
    flip = rng.random(n) < label_noise
    return X, np.where(flip, 1 - y, y)


def one_hot(y, k: int = None) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, k)."""
    y = np.asarray(y)
    k = int(y.max()) + 1 if k is None else k
    return np.eye(k)[y]


@dataclass
class History:
    """What a training run recorded at epoch 1 and every `eval_every` epochs.

    Losses are mean cross-entropies, measured in evaluation mode; weight_norm is the
    Euclidean norm of (W1, W2) together.
    """
    epochs: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    weight_norm: list = field(default_factory=list)
    params: dict = None
    net: "Net" = None

    def best_epoch(self) -> int:
        """The recorded epoch with the lowest validation loss (what early stopping keeps)."""
        return self.epochs[int(np.argmin(self.val_loss))]


def init_params(d_in: int, hidden: int, k: int, rng: np.random.Generator) -> dict:
    """He-initialised weights, zero biases; batch-norm scale 1 and shift 0."""
    return {"W1": rng.standard_normal((d_in, hidden)) * np.sqrt(2.0 / d_in), "b1": np.zeros(hidden),
            "W2": rng.standard_normal((hidden, k)) * np.sqrt(2.0 / hidden), "b2": np.zeros(k),
            "gamma": np.ones(hidden), "beta": np.zeros(hidden)}


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of softmax(logits), shape (N, K), against targets (N, K) whose rows sum
    to 1 (one-hot or soft), and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(np.sum(targets * log_p, axis=1))
    return loss, (np.exp(log_p) - targets) / len(logits)


class Net:
    """The two-layer network; `forward` caches what `backward` needs."""

    def __init__(self, params, dropout=None, batchnorm=None, bn_momentum=0.9, bn_eps=1e-5):
        self.params = params
        self.dropout = dropout            # (dropout_forward, dropout_backward, p_drop) or None
        self.batchnorm = batchnorm        # (batchnorm_forward, batchnorm_backward) or None
        self.bn_momentum, self.bn_eps = bn_momentum, bn_eps
        hidden = params["b1"].shape[0]
        self.running_mean, self.running_var = np.zeros(hidden), np.ones(hidden)

    def forward(self, X, train: bool, rng=None, weights=None):
        p = self.params if weights is None else weights
        a = X @ p["W1"] + p["b1"]
        cache = {"X": X, "p": p}
        if self.batchnorm is not None:
            a, cache["bn"], rm, rv = self.batchnorm[0](a, p["gamma"], p["beta"], self.bn_eps, self.running_mean,
                                                       self.running_var, self.bn_momentum, train)
            if train:
                self.running_mean, self.running_var = rm, rv
        h = np.maximum(a, 0.0)
        cache["relu"] = a > 0
        if self.dropout is not None:
            h, cache["mask"] = self.dropout[0](h, self.dropout[2], rng, train)
        cache["h"] = h
        return h @ p["W2"] + p["b2"], cache

    def backward(self, dlogits, cache) -> dict:
        p = cache["p"]
        grads = {"W2": cache["h"].T @ dlogits, "b2": dlogits.sum(axis=0)}
        dh = dlogits @ p["W2"].T
        if self.dropout is not None:
            dh = self.dropout[1](dh, cache["mask"])
        da = dh * cache["relu"]
        if self.batchnorm is not None:
            da, grads["gamma"], grads["beta"] = self.batchnorm[1](da, cache["bn"])
        grads["W1"] = cache["X"].T @ da
        grads["b1"] = da.sum(axis=0)
        return grads

    def evaluate(self, X, y):
        """(mean cross-entropy, accuracy) on labelled data, in evaluation mode."""
        logits, _ = self.forward(X, train=False)
        loss, _ = softmax_cross_entropy(logits, one_hot(y, logits.shape[1]))
        return loss, float(np.mean(logits.argmax(axis=1) == y))


def train(data, step, epochs: int = 300, hidden: int = 128, batch_size: int = None, penalty=None,
          penalized=("W1", "W2"), dropout=None, batchnorm=None, targets=None, input_noise: float = 0.0,
          weight_noise: float = 0.0, eval_every: int = 5, seed: int = 0) -> History:
    """Train the network and record train and validation loss and accuracy.

    data: (X_train, y_train, X_val, y_val) with integer labels.
    step(w, grad, m, v, t) -> (w_new, m_new, v_new): the optimizer, applied to each
        parameter array with its own moments; t counts steps from 1.
    batch_size: None trains full batch, one step per epoch on the whole training set. Otherwise
        an epoch is ceil(n / batch_size) steps, each on batch_size distinct examples drawn at
        random, independently of the other steps.
    penalty(w) -> (value, grad): added to the loss of every array named in `penalized`.
    dropout: (dropout_forward, dropout_backward, p_drop) applied to the hidden layer.
    batchnorm: (batchnorm_forward, batchnorm_backward) applied before the ReLU.
    targets(X, Y, rng) -> (X, Y): transforms the inputs and one-hot targets of each step
        (label smoothing, mixup).
    input_noise / weight_noise: standard deviation of Gaussian noise added to the inputs /
        to the weights at every training step (the gradient is taken at the noisy point).
    Returns a History; its `params` are the final parameters, `net` the trained Net.
    """
    X, y, X_val, y_val = data
    rng = np.random.default_rng(seed)
    k = int(max(y.max(), y_val.max())) + 1
    params = init_params(X.shape[1], hidden, k, rng)
    net = Net(params, dropout=dropout, batchnorm=batchnorm)
    names = [n for n in params if batchnorm is not None or n not in ("gamma", "beta")]
    moments = {n: (np.zeros_like(params[n]), np.zeros_like(params[n])) for n in names}
    Y = one_hot(y, k)
    steps_per_epoch = 1 if batch_size is None else int(np.ceil(len(X) / batch_size))
    history = History()
    t = 0
    for epoch in range(1, epochs + 1):
        for _ in range(steps_per_epoch):
            t += 1
            if batch_size is None:
                Xb, Yb = X, Y
            else:
                batch = rng.choice(len(X), size=batch_size, replace=False)
                Xb, Yb = X[batch], Y[batch]
            if input_noise:
                Xb = Xb + input_noise * rng.standard_normal(Xb.shape)
            if targets is not None:
                Xb, Yb = targets(Xb, Yb, rng)
            weights = None
            if weight_noise:
                weights = {n: w + weight_noise * rng.standard_normal(w.shape) if n in ("W1", "W2") else w
                           for n, w in params.items()}
            logits, cache = net.forward(Xb, train=True, rng=rng, weights=weights)
            _, dlogits = softmax_cross_entropy(logits, Yb)
            grads = net.backward(dlogits, cache)
            for n in names:
                g = grads[n]
                if penalty is not None and n in penalized:
                    g = g + penalty(params[n])[1]
                m, v = moments[n]
                params[n], m, v = step(params[n], g, m, v, t)
                moments[n] = (m, v)
        if epoch % eval_every == 0 or epoch == 1:
            history.epochs.append(epoch)
            for loss_list, acc_list, (Xe, ye) in ((history.train_loss, history.train_acc, (X, y)),
                                                   (history.val_loss, history.val_acc, (X_val, y_val))):
                loss, acc = net.evaluate(Xe, ye)
                loss_list.append(loss)
                acc_list.append(acc)
            history.weight_norm.append(float(np.sqrt(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))))
    history.params = params
    history.net = net
    return history
