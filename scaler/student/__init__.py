"""Noisy Student self-training (Xie et al. 2020) up the found family's ladder, on the user's data.

- ``scaler.student.labels``: the stratified labelled split, the teacher's pseudo-labels (eval mode,
  soft or hard, a confidence threshold, class balancing) and their hashes;
- ``scaler.student.noise``: RandAugment on batches of tensors, on the training device;
- ``scaler.student.batches``: labelled and pseudo-labelled images mixed in each batch, soft targets,
  the trainer's ``BatchSource``;
- ``scaler.student.run``: the ladder, every seed's teacher -> student chain with its supervised
  baseline (and noiseless twin) kept in the training store, the table and its verdicts.

May import everything above it in ARCHITECTURE.md (the bench's family and fidelity, the training
store, the stats); nothing is imported here, so ``import scaler.student`` costs nothing.
"""
