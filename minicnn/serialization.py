"""mc.save / mc.load (stub: filled in by the optimiser/serialization work)."""


def save(obj, path):
    raise NotImplementedError


def load(path):
    raise NotImplementedError
