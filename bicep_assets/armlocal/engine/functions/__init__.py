"""ARM template functions, one module per category of Microsoft's function reference.

The category modules register themselves with ``registry.arm_function`` when imported;
``library.py`` imports them all (it is loaded by ``engine.evaluator`` once the evaluator is
defined, so category modules may import from the evaluator). Add new modules there.
"""
