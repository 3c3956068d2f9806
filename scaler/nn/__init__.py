"""Networks from Specs: each DSL block type as an nn.Module (``layers``), a Spec as one module
(``build``), and the analytic parameter, MAC and activation counts (``complexity``), which the tests
check against the built modules.

nn may import ``scaler.dsl``, torch and torchvision; ``complexity`` is pure arithmetic and imports
no torch. This file imports nothing, so ``import scaler.nn.complexity`` stays light.
"""
