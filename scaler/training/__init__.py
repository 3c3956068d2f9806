"""Training and scoring a Spec on a data set: the one trainer behind ``train``, ``search`` and ``scale``.

- ``scaler.training.trainer``: the training loop (CPU, CUDA, torchrun), its config and reports;
- ``scaler.training.fit``: Spec + Dataset -> trained module and run record (counts, accuracy, latency);
- ``scaler.training.proxies``: zero-cost proxies that score an untrained net from one minibatch;
- ``scaler.training.parallel``: ``--jobs``, several trainings or study workers as processes on one machine;
- ``scaler.training.config``: the trainer's settings and ``training_key`` (when two trainings are the same);
- ``scaler.training.store``: the one store of trainings, train or reuse by that key over a results folder's runs.

May import torch, ``scaler.data``, ``scaler.dsl``, ``scaler.nn`` and ``scaler.results`` (the store's runs);
never Optuna, the CLI or the dashboard. Nothing is imported here, so ``import scaler.training`` costs nothing.
"""
