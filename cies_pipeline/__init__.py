"""cies-pipeline: state CIE reports and SESNSP open data, reconciled into one national warehouse."""
import gc

__version__ = "0.1.0"

# Python's cyclic collector makes a full collection (every tracked object) after 10 collections of its middle
# generation, once the objects promoted since the last one are a quarter of those it would scan. A refresh
# keeps many objects alive (Dagster's, GX's and pandas' own, then the run's frames and records): the 11-year
# refresh made 6 full collections while its modules were imported and 9 more during the run, 0.1-0.3 s each,
# 2.0-2.3 s of the 2.8-3.1 s it spent collecting (a slow hour). After 100 (set here, as this package is
# imported, before Dagster and GX are): none, 0.8-0.9 s collecting in all, the same peak memory (641-656 MB
# against 646-654 MB). Young garbage is collected as before; cyclic garbage that lived long is freed by a later
# full collection.
FULL_COLLECTION_AFTER = 100
gc.set_threshold(*gc.get_threshold()[:2], FULL_COLLECTION_AFTER)
