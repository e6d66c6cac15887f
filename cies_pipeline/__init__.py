"""cies-pipeline: state CIE reports and SESNSP open data, reconciled into one national warehouse."""

__version__ = "0.1.0"
