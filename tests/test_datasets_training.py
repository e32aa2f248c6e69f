"""End to end: the bundled digits are enough to train a real classifier from scratch."""


import numpy as np
from threadpoolctl import threadpool_limits

from core.datasets import load_dataset
from core.network import MLP
from core.optimizers import Adam


def test_mlp_reaches_92_percent_on_mnist_sample_within_10_epochs():
    data = load_dataset("mnist-sample")
    net = MLP([784, 100, 10], activation="relu", weight_init="he", dtype="float32", seed=0)
    optimizer = Adam(lr=0.001)
    rng = np.random.default_rng(0)
    batch_size = 100
    accuracies = []
    with threadpool_limits(limits=1):
        for _ in range(10):
            order = rng.permutation(data.n_train)
            for first in range(0, data.n_train, batch_size):
                batch = order[first:first + batch_size]
                grads = net.gradient(data.x_train[batch], data.t_train[batch])
                optimizer.update(net.params, grads)
            accuracies.append(net.accuracy(data.x_test, data.t_test))
    assert accuracies[-1] >= 0.92, f"test accuracy per epoch: {accuracies}"
    assert net.loss(data.x_train, data.t_train) < 0.2
    assert accuracies[0] > 0.8, "one epoch of Adam should already get most digits right"
