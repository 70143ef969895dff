"""Data streams: MNIST (IDX reader), permuted MNIST tasks and a bundled synthetic accelerometer stream.

Nothing is ever downloaded: MNIST is read from a directory given as an argument or in ``EDGE_MESU_MNIST``.
"""

from __future__ import annotations

from .mnist import MNIST_ENV_VAR, MNIST_MEAN, MNIST_STD, find_mnist_dir, load_mnist, standardize_mnist
from .pmnist import PermutedMNIST
from .sensor import SensorStream, make_sensor_stream

__all__ = [
    "MNIST_ENV_VAR",
    "MNIST_MEAN",
    "MNIST_STD",
    "PermutedMNIST",
    "SensorStream",
    "find_mnist_dir",
    "load_mnist",
    "make_sensor_stream",
    "standardize_mnist",
]
