"""Training and scoring a Spec on a data set: the one trainer behind ``train``, ``search`` and ``scale``.

- ``scaler.training.trainer``: the training loop (CPU, CUDA, torchrun), its config and reports;
- ``scaler.training.fit``: Spec + Dataset -> trained module and run record (counts, accuracy, latency);
- ``scaler.training.proxies``: zero-cost proxies that score an untrained net from one minibatch;
- ``scaler.training.parallel``: ``--jobs``, several trainings or study workers as processes on one machine.

May import torch, ``scaler.data``, ``scaler.dsl`` and ``scaler.nn``; never Optuna, the CLI or the
dashboard. Nothing is imported here, so ``import scaler.training`` costs nothing.
"""
