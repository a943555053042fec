"""ARM template functions, one module per category of Microsoft's function reference.

The category modules register themselves with ``registry.arm_function`` when imported;
``library.py`` imports them all, and the engine's package (``engine/__init__.py``) imports the
library, so every function is registered before any template is evaluated. Category modules
may import the evaluator; the evaluator imports only ``registry``. Add new modules to
``library.py``.
"""
