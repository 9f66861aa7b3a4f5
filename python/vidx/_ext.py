"""Finds the extension module: vidx/_vidx*.so where pip installed it, else
_vidx*.so on sys.path (the meson build tree, build/python/, for the tests)."""
import importlib


def load():
    try:
        return importlib.import_module('vidx._vidx')
    except ImportError as installed:
        try:
            return importlib.import_module('_vidx')
        except ImportError:
            raise installed from None
