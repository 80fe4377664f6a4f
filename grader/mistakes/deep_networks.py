"""Catalogued mistakes of assignment 07 (training deep networks).

Each implementation is a self-contained function with the graded function's signature, so that
it can be dropped into a submission. The mlp_backward mistakes read the cache layout of the
reference (and of the notebook's solution): (layers, activation), layers[l] = (h_in, W, out).
The random functions' mistakes are recognised by properties (course_lib.checks.deep_networks),
never by one random stream.
"""
import numpy as np

from grader.checks.specs import Mistake


# --- initialisation ---------------------------------------------------------------------------
def xavier_fan_in_only(fan_in, fan_out, rng, distribution="uniform"):
    if distribution == "uniform":
        bound = np.sqrt(3.0 / fan_in)
        return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def xavier_bound_as_std(fan_in, fan_out, rng, distribution="uniform"):
    scale = np.sqrt(6.0 / (fan_in + fan_out)) if distribution == "uniform" else np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, scale, size=(fan_in, fan_out))


def xavier_std_as_bound(fan_in, fan_out, rng, distribution="uniform"):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    if distribution == "uniform":
        return rng.uniform(-std, std, size=(fan_in, fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def xavier_variance_as_std(fan_in, fan_out, rng, distribution="uniform"):
    if distribution == "uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return rng.normal(0.0, 2.0 / (fan_in + fan_out), size=(fan_in, fan_out))


def xavier_ignores_distribution(fan_in, fan_out, rng, distribution="uniform"):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def xavier_shape_transposed(fan_in, fan_out, rng, distribution="uniform"):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    if distribution == "uniform":
        return rng.uniform(-bound, bound, size=(fan_out, fan_in))
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_out, fan_in))


def xavier_global_rng(fan_in, fan_out, rng, distribution="uniform"):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    if distribution == "uniform":
        return np.random.uniform(-bound, bound, size=(fan_in, fan_out))
    return np.random.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def he_with_fan_out(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_out), size=(fan_in, fan_out))
    bound = np.sqrt(6.0 / fan_out)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_without_two(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
    bound = np.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_variance_as_std(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.normal(0.0, 2.0 / fan_in, size=(fan_in, fan_out))
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_bound_as_std(fan_in, fan_out, rng, distribution="normal"):
    scale = np.sqrt(2.0 / fan_in) if distribution == "normal" else np.sqrt(6.0 / fan_in)
    return rng.normal(0.0, scale, size=(fan_in, fan_out))


def he_std_as_bound(fan_in, fan_out, rng, distribution="normal"):
    std = np.sqrt(2.0 / fan_in)
    if distribution == "normal":
        return rng.normal(0.0, std, size=(fan_in, fan_out))
    return rng.uniform(-std, std, size=(fan_in, fan_out))


def he_ignores_distribution(fan_in, fan_out, rng, distribution="normal"):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_shape_transposed(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_out, fan_in))


def he_global_rng(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return np.random.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    bound = np.sqrt(6.0 / fan_in)
    return np.random.uniform(-bound, bound, size=(fan_in, fan_out))


# --- forward pass -------------------------------------------------------------------------------
def forward_output_activated(X, weights, biases, activation):
    act = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    h, layers = X, []
    for W, b in zip(weights, biases):
        out = act[activation](h @ W + b)
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


def forward_no_activation(X, weights, biases, activation):
    h, layers = X, []
    for W, b in zip(weights, biases):
        out = h @ W + b
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


def forward_no_bias(X, weights, biases, activation):
    act = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    h, layers = X, []
    for l, W in enumerate(weights):
        z = h @ W
        out = z if l == len(weights) - 1 else act[activation](z)
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


def forward_sigmoid_sign(X, weights, biases, activation):
    act = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    h, layers = X, []
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W + b
        out = z if l == len(weights) - 1 else act[activation](z)
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


# --- backward pass ------------------------------------------------------------------------------
def backward_derivative_at_preactivation(dout, cache):
    layers, activation = cache
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            if activation == "sigmoid":
                z = np.log(out / (1.0 - out))
                grad = grad * z * (1.0 - z)
            elif activation == "tanh":
                z = np.arctanh(out)
                grad = grad * (1.0 - z**2)
            else:
                grad = grad * (out > 0)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_output_layer_activated(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: o * (1.0 - o), "tanh": lambda o: 1.0 - o**2, "relu": lambda o: (o > 0) * 1.0}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        grad = grad * slope[activation](out)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_no_activation_derivative(dout, cache):
    layers, activation = cache
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_relu_mask_from_gradient(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: o * (1.0 - o), "tanh": lambda o: 1.0 - o**2}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * (grad > 0) if activation == "relu" else grad * slope[activation](out)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_weight_gradient_transposed(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: o * (1.0 - o), "tanh": lambda o: 1.0 - o**2, "relu": lambda o: (o > 0) * 1.0}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * slope[activation](out)
        dweights.insert(0, grad.T @ h_in)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_bias_gradient_mean(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: o * (1.0 - o), "tanh": lambda o: 1.0 - o**2, "relu": lambda o: (o > 0) * 1.0}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * slope[activation](out)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.mean(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def backward_layers_reversed(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: o * (1.0 - o), "tanh": lambda o: 1.0 - o**2, "relu": lambda o: (o > 0) * 1.0}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * slope[activation](out)
        dweights.append(h_in.T @ grad)
        dbiases.append(grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


# --- schedules ----------------------------------------------------------------------------------
def step_decay_one_interval_early(step, base_lr, drop, every):
    return base_lr * drop ** ((step + 1) // every)


def step_decay_continuous(step, base_lr, drop, every):
    return base_lr * drop ** (step / every)


def step_decay_every_step(step, base_lr, drop, every):
    return base_lr * drop ** step


def cosine_warmup_off_by_one(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    t, T = step - warmup_steps, total_steps - warmup_steps
    return min_lr + (base_lr - min_lr) * (1.0 + np.cos(np.pi * t / T)) / 2.0


def cosine_ignores_warmup(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    return min_lr + (base_lr - min_lr) * (1.0 + np.cos(np.pi * step / total_steps)) / 2.0


def cosine_full_period(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t, T = step - warmup_steps, total_steps - warmup_steps
    return min_lr + (base_lr - min_lr) * (1.0 + np.cos(2 * np.pi * t / T)) / 2.0


def cosine_min_lr_not_added(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t, T = step - warmup_steps, total_steps - warmup_steps
    return (base_lr - min_lr) * (1.0 + np.cos(np.pi * t / T)) / 2.0


# --- curvature ------------------------------------------------------------------------------------
def sharpness_no_base_loss(loss_fn, w, radius, n_samples, rng):
    total = 0.0
    for _ in range(n_samples):
        u = rng.standard_normal(w.shape)
        u /= np.linalg.norm(u)
        total += loss_fn(w + radius * u)
    return total / n_samples


def sharpness_gaussian_not_normalised(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    rises = [loss_fn(w + radius * rng.standard_normal(w.shape)) - base for _ in range(n_samples)]
    return float(np.mean(rises))


def sharpness_max_not_mean(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    rises = []
    for _ in range(n_samples):
        u = rng.standard_normal(w.shape)
        rises.append(loss_fn(w + radius * u / np.linalg.norm(u)) - base)
    return float(np.max(rises))


def sharpness_same_direction(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    u = rng.standard_normal(w.shape)
    u /= np.linalg.norm(u)
    return float(np.mean([loss_fn(w + radius * u) - base for _ in range(n_samples)]))


def sharpness_global_rng(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    rises = []
    for _ in range(n_samples):
        u = np.random.standard_normal(w.shape)
        rises.append(loss_fn(w + radius * u / np.linalg.norm(u)) - base)
    return float(np.mean(rises))


def power_iteration_not_renormalised(grad_fn, w, rng, iters=100, h=1e-5):
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(iters):
        v = (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)
    return float(v @ ((grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)))


def power_iteration_forward_difference(grad_fn, w, rng, iters=100, h=1e-5):
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    g = grad_fn(w)
    for _ in range(iters):
        Hv = (grad_fn(w + h * v) - g) / h
        v = Hv / np.linalg.norm(Hv)
    return float(v @ ((grad_fn(w + h * v) - g) / h))


def power_iteration_norm_of_hv(grad_fn, w, rng, iters=100, h=1e-5):
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(iters):
        Hv = (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)
        v = Hv / np.linalg.norm(Hv)
    return float(np.linalg.norm((grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)))


def power_iteration_difference_over_h(grad_fn, w, rng, iters=100, h=1e-5):
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(iters):
        Hv = (grad_fn(w + h * v) - grad_fn(w - h * v)) / h
        v = Hv / np.linalg.norm(Hv)
    return float(v @ ((grad_fn(w + h * v) - grad_fn(w - h * v)) / h))


def power_iteration_global_rng(grad_fn, w, rng, iters=100, h=1e-5):
    v = np.random.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(iters):
        Hv = (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)
        v = Hv / np.linalg.norm(Hv)
    return float(v @ ((grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)))


GLOBAL_RNG_HINT = ("Draw every random number from the generator you are given (rng.uniform, rng.normal, "
                   "rng.standard_normal), not from np.random: the caller's seed must decide the result.")
SHAPE_HINT = ("W has shape (fan_in, fan_out): the layer computes h @ W, so its rows go with the inputs and its "
              "columns with the outputs.")
BOUND_AS_STD_HINT = ("For the uniform distribution, sqrt(6 / fans) is the bound a of U(-a, a), whose variance is "
                     "a**2 / 3 = 2 / fans. You drew from a normal distribution with standard deviation a: three "
                     "times the variance, and weights beyond the bound.")
STD_AS_BOUND_HINT = ("U(-a, a) has variance a**2 / 3, so the bound that gives variance 2 / fans is a = sqrt(6 / fans); "
                     "with a = sqrt(2 / fans), the standard deviation, the variance is three times too small.")
VARIANCE_AS_STD_HINT = ("rng.normal(loc, scale, size) takes the standard deviation as scale: pass sqrt(variance), "
                        "not the variance. 2 / fans as a standard deviation makes the weights far too small.")
IGNORES_DISTRIBUTION_HINT = ("The weights have the right variance but always the same distribution: read the "
                             "`distribution` argument and draw from U(-a, a) for 'uniform', from N(0, var) for 'normal'.")

MISTAKES = {
    "mlp_forward": [
        Mistake("output_activated", "The output layer given the activation",
                "The last layer is linear: out = h @ W + b with no activation, so the network can output any "
                "real number (the logits for a softmax, say). Apply the activation after every layer but the last.",
                forward_output_activated),
        Mistake("no_activation", "No activation between the layers",
                "Without a nonlinearity between them, a stack of affine layers is one affine map: the depth adds "
                "nothing. Apply the activation to every hidden layer's h @ W + b.", forward_no_activation,
                conceptual=True),
        Mistake("no_bias", "Biases not added",
                "Each layer computes h @ W + b: add the layer's bias (broadcast over the rows) before the activation.",
                forward_no_bias),
        Mistake("sigmoid_sign", "Sigmoid with the wrong sign",
                "sigmoid(z) = 1 / (1 + exp(-z)): it rises from 0 to 1 as z grows. 1 / (1 + exp(z)) is sigmoid(-z).",
                forward_sigmoid_sign),
    ],
    "mlp_backward": [
        Mistake("derivative_at_preactivation", "The activation's derivative taken from the pre-activation",
                "sigmoid'(z) = s (1 - s) and tanh'(z) = 1 - t**2 are written in terms of the layer's OUTPUT "
                "s = sigmoid(z), t = tanh(z). Plugging the pre-activation z into them gives another number: use "
                "the stored output (or write the derivative as a function of z).",
                backward_derivative_at_preactivation),
        Mistake("output_layer_activated", "Activation derivative applied to the output layer",
                "The last layer is linear, so dout flows into its h @ W + b unchanged: multiply by the "
                "activation's derivative only in the hidden layers.", backward_output_layer_activated),
        Mistake("no_activation_derivative", "Gradient passed through the activations unchanged",
                "Each hidden layer computed out = f(z); the chain rule multiplies the gradient by f'(z) on the "
                "way back, before it reaches W, b and the layer below.", backward_no_activation_derivative,
                conceptual=True),
        Mistake("relu_mask_from_gradient", "ReLU's derivative taken from the gradient",
                "ReLU passes the gradient where the unit was active in the forward pass, z > 0 (equivalently "
                "out > 0), whatever the sign of the incoming gradient.", backward_relu_mask_from_gradient),
        Mistake("weight_gradient_transposed", "Weight gradient transposed",
                "z = h_in @ W, so dW = h_in.T @ dz, of W's shape (D_in, D_out); dz.T @ h_in is its transpose.",
                backward_weight_gradient_transposed),
        Mistake("db_mean", "Bias gradient averaged over the batch",
                "The bias is added to every row, so its gradient is the SUM of dz over the batch. dout already "
                "carries any 1 / N of a mean loss.", backward_bias_gradient_mean),
        Mistake("layers_reversed", "Gradients in reverse layer order",
                "The backward pass visits the last layer first; dweights[l] and dbiases[l] must belong to layer l. "
                "Insert at the front (or reverse the lists) before returning.", backward_layers_reversed),
    ],
    "xavier_init": [
        Mistake("xavier_fan_in_only", "Xavier with fan_in only",
                "Xavier (Glorot) initialisation averages the two fans, var = 2 / (fan_in + fan_out), so that both "
                "the forward activations and the backward gradients keep their scale. 1 / fan_in (LeCun's) only "
                "looks after the forward pass.", xavier_fan_in_only),
        Mistake("bound_as_std", "The uniform bound used as a standard deviation", BOUND_AS_STD_HINT,
                xavier_bound_as_std),
        Mistake("std_as_bound", "The standard deviation used as the uniform bound", STD_AS_BOUND_HINT,
                xavier_std_as_bound),
        Mistake("variance_as_std", "The variance passed as NumPy's standard deviation", VARIANCE_AS_STD_HINT,
                xavier_variance_as_std),
        Mistake("ignores_distribution", "The distribution argument ignored", IGNORES_DISTRIBUTION_HINT,
                xavier_ignores_distribution),
        Mistake("shape_transposed", "Weights of shape (fan_out, fan_in)", SHAPE_HINT, xavier_shape_transposed),
        Mistake("global_rng", "Global random state instead of rng", GLOBAL_RNG_HINT, xavier_global_rng),
    ],
    "he_init": [
        Mistake("he_fan_out", "He with fan_out",
                "He initialisation keeps the forward activations' scale through ReLUs: var = 2 / fan_in, with "
                "fan_in the number of inputs each unit sums (W.shape[0]).", he_with_fan_out),
        Mistake("he_without_two", "He without the factor 2",
                "A ReLU zeroes half of its inputs, halving the second moment at every layer; He's variance "
                "2 / fan_in doubles 1 / fan_in to make up for it.", he_without_two),
        Mistake("variance_as_std", "The variance passed as NumPy's standard deviation", VARIANCE_AS_STD_HINT,
                he_variance_as_std),
        Mistake("bound_as_std", "The uniform bound used as a standard deviation", BOUND_AS_STD_HINT, he_bound_as_std),
        Mistake("std_as_bound", "The standard deviation used as the uniform bound", STD_AS_BOUND_HINT,
                he_std_as_bound),
        Mistake("ignores_distribution", "The distribution argument ignored", IGNORES_DISTRIBUTION_HINT,
                he_ignores_distribution),
        Mistake("shape_transposed", "Weights of shape (fan_out, fan_in)", SHAPE_HINT, he_shape_transposed),
        Mistake("global_rng", "Global random state instead of rng", GLOBAL_RNG_HINT, he_global_rng),
    ],
    "step_decay_lr": [
        Mistake("decay_one_interval_early", "Decay one step early",
                "The rate drops after every `every` steps: steps 0 .. every - 1 use base_lr, so the exponent is "
                "step // every. (step + 1) // every drops at step every - 1.", step_decay_one_interval_early),
        Mistake("continuous_decay", "Exponential instead of staircase decay",
                "Step decay holds the rate constant between drops: drop ** (step // every), with integer "
                "division. drop ** (step / every) decays a little at every step.", step_decay_continuous),
        Mistake("decays_every_step", "Decay at every step",
                "The rate is multiplied by drop once every `every` steps: the exponent is step // every, "
                "not step.", step_decay_every_step),
    ],
    "cosine_lr": [
        Mistake("warmup_off_by_one", "Warm-up off by one",
                "Warm-up steps count from 0, so base_lr * (step + 1) / warmup_steps: the first step gets "
                "base_lr / warmup_steps (not 0, a wasted step) and the last warm-up step reaches base_lr.",
                cosine_warmup_off_by_one),
        Mistake("cosine_ignores_warmup", "Cosine over the whole run",
                "After warm-up, the cosine starts afresh: t = step - warmup_steps over T = total_steps - "
                "warmup_steps, so it begins at base_lr right where the warm-up ends.", cosine_ignores_warmup),
        Mistake("full_period", "A full period of the cosine",
                "The schedule follows half a period, (1 + cos(pi t / T)) / 2, from 1 down to 0; with 2 pi the "
                "rate comes back up to base_lr at the end.", cosine_full_period),
        Mistake("min_lr_not_added", "min_lr not added back",
                "lr = min_lr + (base_lr - min_lr) (1 + cos(pi t / T)) / 2: the cosine term spans the range "
                "base_lr - min_lr, and min_lr is added to it, so the schedule ends at min_lr, not 0.",
                cosine_min_lr_not_added),
    ],
    "sharpness": [
        Mistake("no_base_loss", "Loss instead of its rise",
                "Sharpness measures how much the loss RISES around w: the mean of loss_fn(w + radius u) - "
                "loss_fn(w). Without subtracting loss_fn(w) you measure the loss itself, large at any poor "
                "point, flat or sharp.", sharpness_no_base_loss, conceptual=True),
        Mistake("gaussian_not_normalised", "Gaussian directions not normalised",
                "u must lie on the unit sphere, so that every perturbation has length radius: draw g from a "
                "standard normal and use u = g / |g|. Unnormalised, |g| is about sqrt(d), so the perturbations "
                "are about sqrt(d) times too long (and of random length).", sharpness_gaussian_not_normalised),
        Mistake("max_not_mean", "Maximum instead of mean",
                "This sharpness is the AVERAGE rise over random directions, an estimate of radius**2 tr(H) / (2d) "
                "near a minimum; the maximum depends on n_samples and is a much noisier estimate.",
                sharpness_max_not_mean),
        Mistake("same_direction", "One direction for every sample",
                "Draw a new direction u for every sample: averaging the same direction n_samples times is "
                "one sample.", sharpness_same_direction),
        Mistake("global_rng", "Global random state instead of rng", GLOBAL_RNG_HINT, sharpness_global_rng),
    ],
    "top_hessian_eigenvalue": [
        Mistake("not_renormalised", "Power iteration without renormalising",
                "Each iteration replaces v by H v / |H v|: without the division |v| grows (or shrinks) like "
                "|lambda|**k, the finite differences w + h v leave the neighbourhood of w, and v . H v is no "
                "longer the eigenvalue.", power_iteration_not_renormalised),
        Mistake("forward_difference", "Forward instead of central differences",
                "H v = (grad(w + h v) - grad(w - h v)) / (2h): the central difference is accurate to O(h**2); "
                "(grad(w + h v) - grad(w)) / h only to O(h).", power_iteration_forward_difference),
        Mistake("norm_of_hv", "|H v| instead of the Rayleigh quotient",
                "Return v . (H v) for the unit vector v: it keeps the eigenvalue's sign. |H v| is |lambda|, so "
                "a direction of negative curvature (a saddle) would look like a sharp minimum.",
                power_iteration_norm_of_hv),
        Mistake("difference_over_h", "Central difference divided by h",
                "grad(w + h v) - grad(w - h v) spans 2h along v: divide by 2h, or H v comes out twice too large.",
                power_iteration_difference_over_h),
        Mistake("global_rng", "Global random state instead of rng", GLOBAL_RNG_HINT, power_iteration_global_rng),
    ],
}
