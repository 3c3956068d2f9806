"""Corruption robustness (issue 26): ImageNet-C-style corruptions and ImageNet-P-style perturbation
sequences of the test images, in torch alone and seeded, and the published scores over them
(error per corruption and severity, mean error, CE / mCE / relative mCE against a reference model, mFR).

``corruptions`` owns the corruptions and their severities, ``sequences`` the perturbation sequences,
``metrics`` the arithmetic on plain numbers, ``evaluate`` running a model over them.
"""
