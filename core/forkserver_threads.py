"""Imported first by the fork server of core.forked, and nowhere else: every check forked from
it runs numpy's, OpenBLAS's and pyarrow's thread pools on one thread (OpenBLAS reads this when
numpy loads it; pyarrow when it makes its pool), because the checks share the host with the
web and worker processes."""

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
