"""Reference solutions of assignment 07 (training deep networks).

mlp_forward's cache is (layers, activation), layers[l] = (h_in, W, out): the layer's input, its
weights and its output (after the activation for hidden layers, linear for the last). The
catalogued mistakes of mlp_backward read this layout, the one of the notebook's solution. Each
function is self-contained (a submission made of its source runs on its own).
"""
import numpy as np

def xavier_init(fan_in, fan_out, rng, distribution="uniform"):
    if distribution == "uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def he_init(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def mlp_forward(X, weights, biases, activation):
    act = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    h, layers = X, []
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W + b
        out = z if l == len(weights) - 1 else act[activation](z)
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


def mlp_backward(dout, cache):
    layers, activation = cache
    # each activation's derivative, written in terms of its output
    slope = {"sigmoid": lambda out: out * (1.0 - out), "tanh": lambda out: 1.0 - out**2,
             "relu": lambda out: (out > 0).astype(out.dtype)}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * slope[activation](out)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def step_decay_lr(step, base_lr, drop, every):
    return base_lr * drop ** (step // every)


def cosine_lr(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t, T = step - warmup_steps, total_steps - warmup_steps
    return min_lr + (base_lr - min_lr) * (1.0 + np.cos(np.pi * t / T)) / 2.0


def sharpness(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    rises = []
    for _ in range(n_samples):
        u = rng.standard_normal(w.shape)
        u /= np.linalg.norm(u)
        rises.append(loss_fn(w + radius * u) - base)
    return float(np.mean(rises))


def top_hessian_eigenvalue(grad_fn, w, rng, iters=100, h=1e-5):
    def hessian_times(v):
        return (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)

    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(iters):
        Hv = hessian_times(v)
        v = Hv / np.linalg.norm(Hv)
    return float(v @ hessian_times(v))
