"""scaler: neural-architecture search and scaling-law explorer for convolutional networks."""

__version__ = "0.1.0"
