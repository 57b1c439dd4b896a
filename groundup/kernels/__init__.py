"""Pure Array-API math. Every function takes arrays positionally and the namespace as ``xp=``.

Nothing here imports NumPy, PyTorch, CuPy, JAX or Dask: the estimator layer resolves the
backend once and hands these functions the namespace, the device and any fast path.
"""
